// The seed's full flow through the real endpoints: staff creates a customer (and its user),
// the customer logs in with the initial password, sees its customer in /me, changes password.
import { decode } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { createUser } from "./support/db.ts";
import { legacySpelling, randomPhone } from "./support/fixture.ts";
import { api, login, me, tokenFor } from "./support/http.ts";
import { captureConsole, expectNoSecretsInLogs } from "./support/logs.ts";
import { registerSecret } from "./support/secrets.ts";

captureConsole();

describe("create → login → me → change password", () => {
  it("a customer created by staff logs in with its initial password and is linked both ways", async () => {
    const staffToken = await tokenFor(await createUser({ role: "marketing_staff" }));
    const phone = randomPhone();
    const created = await api("POST", "/api/phase0-v2/customers", {
      token: staffToken,
      json: { name: "Flow Customer", phone: legacySpelling(phone), address: "4th Cross, Jayanagar", area: "Jayanagar" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { customer, user, initial_password: initialPassword } = created.body;
    expect(typeof initialPassword).toBe("string");
    registerSecret(initialPassword); // from now on it may appear in no body and no log line

    // Log in by the phone in another spelling, with the initial password.
    const first = await login({ phone: `0${phone}`, password: initialPassword });
    expect(first.status).toBe(200);
    expect(first.body.user).toMatchObject({
      id: user.id,
      role: "customer",
      customer_v2_id: customer.id,
      must_change_password: true,
    });
    expect(decode(first.body.access_token).payload.customer_v2_id).toBe(customer.id);

    const mine = await me(first.body.access_token);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ user_id: user.id, email: user.email, role: "customer", customer_v2_id: customer.id });
    expect(mine.body.customer).toMatchObject({ id: customer.id, user_id: user.id, name: "Flow Customer" });
    expect(mine.body.customer).not.toHaveProperty("_id");

    // Until the initial password is changed, the customers API refuses this token.
    const early = await api("GET", `/api/phase0-v2/customers/${customer.id}`, { token: first.body.access_token });
    expect(early.status).toBe(403);
    expect(early.body.error.code).toBe("password_change_required");

    const changed = await api("POST", "/api/auth/change-password", {
      token: first.body.access_token,
      json: { current_password: initialPassword, new_password: "my own milk password" },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.user).toMatchObject({ must_change_password: false, customer_v2_id: customer.id });
    expect(decode(changed.body.access_token).payload.customer_v2_id).toBe(customer.id);
    expect((await me(first.body.access_token)).status).toBe(401);
    expect((await me(changed.body.access_token)).body.customer.id).toBe(customer.id);
    // Now the customer reads its own record through the customers API.
    const own = await api("GET", `/api/phase0-v2/customers/${customer.id}`, { token: changed.body.access_token });
    expect(own.status).toBe(200);
    expect((await login({ email: user.email.toUpperCase(), password: "my own milk password" })).status).toBe(200);
  });
});

describe("logs", () => {
  it("no log line written during this file contains a hash or a plaintext password", () => {
    expectNoSecretsInLogs();
  });
});
