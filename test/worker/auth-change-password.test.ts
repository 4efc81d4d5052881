// POST /api/auth/change-password: verification of the current password, the 8–72 byte rule,
// bcrypt storage, token_version bump (older tokens die), must_change_password cleared.
import { decode } from "hono/jwt";
import { describe, expect, it } from "vitest";
import type { UserDoc } from "../../src/db/collections.ts";
import { verifyPassword } from "../../src/services/auth/passwords.ts";
import { createUser, withDb } from "./support/db.ts";
import { api, login, me, tokenFor } from "./support/http.ts";
import { captureConsole, expectNoSecretsInLogs } from "./support/logs.ts";

const changePassword = (token: string, json: unknown) => api("POST", "/api/auth/change-password", { token, json });
const userDoc = (id: string) => withDb((db) => db.collection<UserDoc>("users").findOne({ id }));

captureConsole();

describe("successful change", () => {
  it("stores bcrypt, bumps token_version, clears must_change_password, kills older tokens, returns a working token", async () => {
    // A legacy-shaped account: SHA-256 in `password`, no token_version, forced to change its password.
    const user = await createUser({ hashKind: "sha256_password_field", must_change_password: true });
    const first = await login({ email: user.email, password: user.password });
    expect(first.status).toBe(200);
    expect(first.body.user.must_change_password).toBe(true);
    const oldToken = first.body.access_token as string;
    const newPassword = `new-${crypto.randomUUID()}`;

    const res = await changePassword(oldToken, { current_password: user.password, new_password: newPassword });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: "bearer", expires_in: 900, user: { id: user.id, must_change_password: false } });
    expect(decode(res.body.access_token).payload.ver).toBe(1);

    const doc = await userDoc(user.id);
    expect(doc).toMatchObject({ token_version: 1, must_change_password: false });
    expect(doc!.password_hash).toMatch(/^\$2b\$10\$/);
    expect(doc).not.toHaveProperty("password");
    expect((await verifyPassword(newPassword, doc!)).ok).toBe(true);

    // The token issued before the change is refused; the fresh one works.
    const stale = await me(oldToken);
    expect(stale.status).toBe(401);
    expect(stale.body.error).toMatchObject({ code: "invalid_token", message: "The access token has been revoked." });
    expect((await me(res.body.access_token)).status).toBe(200);

    // Old password no longer works; the new one does and carries the new version.
    expect((await login({ email: user.email, password: user.password })).status).toBe(401);
    const relogin = await login({ email: user.email, password: newPassword });
    expect(relogin.status).toBe(200);
    expect(relogin.body.user.must_change_password).toBe(false);
    expect(decode(relogin.body.access_token).payload.ver).toBe(1);
  });

  it("accepts exactly 8 and exactly 72 UTF-8 bytes (multi-byte characters count as bytes)", async () => {
    const user = await createUser({});
    const eight = "12345678";
    const seventyTwo = "दूध".repeat(8); // 3 code points × 3 bytes × 8 = 72 bytes, 24 characters
    expect(new TextEncoder().encode(seventyTwo).length).toBe(72);
    let token = await tokenFor(user);
    const a = await changePassword(token, { current_password: user.password, new_password: eight });
    expect(a.status).toBe(200);
    token = a.body.access_token;
    const b = await changePassword(token, { current_password: eight, new_password: seventyTwo });
    expect(b.status).toBe(200);
    expect((await login({ email: user.email, password: seventyTwo })).status).toBe(200);
  });
});

describe("refusals", () => {
  it("a wrong current password answers 401 and changes nothing", async () => {
    const user = await createUser({ must_change_password: true });
    const token = await tokenFor(user);
    const before = await userDoc(user.id);
    const res = await changePassword(token, { current_password: "not-my-password", new_password: "a-brand-new-password" });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("invalid_credentials");
    expect(await userDoc(user.id)).toEqual(before);
    expect((await me(token)).status).toBe(200);
  });

  it.each([
    ["7 bytes", "1234567"],
    ["73 bytes", `${"दूध".repeat(8)}x`],
    ["25 multi-byte characters (75 bytes)", "ಹ".repeat(25)],
    ["a NUL character", "abcd\u0000efgh"],
  ])("a new password of %s answers 422 on new_password", async (_name, newPassword) => {
    const user = await createUser({});
    const token = await tokenFor(user);
    const res = await changePassword(token, { current_password: user.password, new_password: newPassword });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_error");
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(["new_password"]);
    expect((await userDoc(user.id))!.token_version ?? 0).toBe(0);
  });

  it("422 for a new password equal to the current one, a missing field or an unknown field", async () => {
    const user = await createUser({});
    const token = await tokenFor(user);
    for (const body of [
      { current_password: user.password, new_password: user.password },
      { new_password: "long-enough-password" },
      { current_password: user.password, new_password: "long-enough-password", token_version: 0 },
    ]) {
      const res = await changePassword(token, body);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("validation_error");
    }
  });

  it("without a valid token answers 401 before looking at the body", async () => {
    const res = await api("POST", "/api/auth/change-password", { json: { bogus: true } });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("unauthorized");
  });

  it("two concurrent changes with the same token: one wins, the other is refused, nothing is mixed", async () => {
    const user = await createUser({});
    const token = await tokenFor(user);
    const [a, b] = await Promise.all([
      changePassword(token, { current_password: user.password, new_password: "first-new-password" }),
      changePassword(token, { current_password: user.password, new_password: "second-new-password" }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const winner = a.status === 200 ? "first-new-password" : "second-new-password";
    const doc = await userDoc(user.id);
    expect(doc!.token_version).toBe(1);
    expect((await verifyPassword(winner, doc!)).ok).toBe(true);
  });
});

describe("logs", () => {
  it("no log line written during this file contains a hash or a plaintext password", () => {
    expectNoSecretsInLogs();
  });
});
