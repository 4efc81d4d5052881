import { describe, expect, it } from "vitest";
import type { UserDoc } from "../../src/db/collections.ts";
import { createUser, sha256Hex, withDb } from "./support/db.ts";
import { call } from "./support/http.ts";
import { captureConsole, output, parsedLines, requestLines } from "./support/logs.ts";

const DEBUG = { LOG_LEVEL: "debug" };
const BCRYPT = /\$2[aby]\$/;

captureConsole({ perTest: true });

async function storedSecrets(id: string): Promise<string[]> {
  const doc = await withDb((db) => db.collection<UserDoc>("users").findOne({ id }));
  return [doc?.password_hash, doc?.password].filter((v): v is string => typeof v === "string");
}

function expectAbsent(text: string, secrets: string[]): void {
  for (const secret of secrets)
    expect(text.includes(secret), `log output contains a secret (${secret.length} chars)`).toBe(false);
  expect(text).not.toMatch(BCRYPT);
}

describe("logs never contain passwords, hashes or tokens", () => {
  it("across logins (bcrypt, legacy SHA-256 upgrade, wrong password) and a password change, at debug level", async () => {
    const bcryptUser = await createUser({ role: "admin" });
    const legacyUser = await createUser({ role: "delivery_boy", hashKind: "sha256_password_field" });
    const legacyHash = await sha256Hex(legacyUser.password);
    const wrong = `wrong-${crypto.randomUUID()}`;
    const fresh = `fresh-${crypto.randomUUID()}`;

    const ok = await call("/api/auth/login", {
      method: "POST",
      json: { email: bcryptUser.email, password: bcryptUser.password },
      bindings: DEBUG,
    });
    expect(ok.status).toBe(200);
    const { access_token } = (await ok.json()) as { access_token: string };
    expect(
      (await call("/api/auth/login", { method: "POST", json: { email: bcryptUser.email, password: wrong }, bindings: DEBUG }))
        .status,
    ).toBe(401);
    expect(
      (
        await call("/api/auth/login", {
          method: "POST",
          json: { email: legacyUser.email, password: legacyUser.password },
          bindings: DEBUG,
        })
      ).status,
    ).toBe(200);
    const changed = await call("/api/auth/change-password", {
      method: "POST",
      headers: { Authorization: `Bearer ${access_token}` },
      json: { current_password: bcryptUser.password, new_password: fresh },
      bindings: DEBUG,
    });
    expect(changed.status).toBe(200);
    const { access_token: freshToken } = (await changed.json()) as { access_token: string };
    // Invalid input that carries a password: the 422 must not echo it into the logs either.
    expect(
      (await call("/api/auth/login", { method: "POST", json: { email: 42, password: bcryptUser.password }, bindings: DEBUG }))
        .status,
    ).toBe(422);

    // The lines were written and are structured: otherwise the absence checks prove nothing.
    const lines = parsedLines();
    expect(requestLines().map((l) => l.status)).toEqual([200, 401, 200, 200, 422]);
    expect(lines.every((l) => typeof l.request_id === "string")).toBe(true);

    const secrets = [
      bcryptUser.password,
      legacyUser.password,
      wrong,
      fresh,
      legacyHash,
      access_token,
      freshToken,
      ...(await storedSecrets(bcryptUser.id)),
      ...(await storedSecrets(legacyUser.id)),
    ];
    // The legacy user was upgraded to bcrypt, so its new hash is among the stored secrets.
    expect((await storedSecrets(legacyUser.id)).some((v) => BCRYPT.test(v))).toBe(true);
    expectAbsent(output(), secrets);
  });

  it("logs a database failure with its request id, without the credentials of MONGODB_URI", async () => {
    const user = await createUser({ role: "admin" });
    const res = await call("/api/auth/login", {
      method: "POST",
      json: { email: user.email, password: user.password },
      bindings: {
        ...DEBUG,
        MONGODB_URI: "mongodb://dbadmin:db-pw-7f3a9c@127.0.0.1:9/?directConnection=true",
        MONGODB_SERVER_SELECTION_TIMEOUT_MS: "300",
      },
    });
    expect(res.status).toBe(503);
    const body = await res.text();
    const id = res.headers.get("x-request-id");
    const errors = parsedLines().filter((l) => l.level === "error");
    expect(errors.length).toBeGreaterThanOrEqual(2); // the failure itself and the 5xx request line
    expect(errors.every((l) => l.request_id === id)).toBe(true);
    expectAbsent(output() + body, ["db-pw-7f3a9c", user.password]);
  });
});
