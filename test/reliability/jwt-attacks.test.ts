// The JWT attack set against every protected route (discovered: operations whose OpenAPI
// security is the bearer scheme), each refused with 401 in the envelope and WWW-Authenticate,
// while the control token (valid in every aspect) gets past authentication on each route.
import { exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { beforeAll, describe, expect, it } from "vitest";
import type { UserDoc } from "../../src/db/collections.ts";
import { createUser, type TestUser, withDb } from "../worker/support/db.ts";
import { bindings } from "../worker/support/fixture.ts";
import { tokenFor } from "../worker/support/http.ts";
import { nowSeconds, signClaims, validClaims } from "../worker/support/jwt.ts";
import { captureQuietly, secretIn, secretsInLogs } from "./support/capture.ts";
import { discoverOperations, fillPath, type Operation } from "./support/routes.ts";

const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

captureQuietly();

let protectedOps: Operation[];
let admin: TestUser;
let attacks: [string, string][];

beforeAll(async () => {
  protectedOps = (await discoverOperations()).filter((op) => op.bearer);
  admin = await createUser({ role: "admin" });
  const doomed = await createUser({ role: "admin" });
  const deletedUsersToken = await tokenFor(doomed);
  await withDb((db) => db.collection<UserDoc>("users").deleteOne({ id: doomed.id }));
  const deactivated = await createUser({ role: "admin" });
  const deactivatedToken = await tokenFor(deactivated);
  await withDb((db) => db.collection<UserDoc>("users").updateOne({ id: deactivated.id }, { $set: { is_active: false } }));

  const claims = validClaims(admin, { role: "admin" });
  const without = (key: keyof typeof claims) => Object.fromEntries(Object.entries(claims).filter(([k]) => k !== key));
  const rsa = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const [header, , signature] = (await signClaims(claims)).split(".");
  attacks = [
    ["alg none", `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`],
    ["alg none, signature kept", `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.${signature}`],
    ["HS512 with the right secret", await signClaims(claims, bindings.JWT_SECRET, "HS512")],
    ["RS256 signed with an RSA key", await sign(claims, rsa.privateKey, "RS256")],
    ["RS256 header over an HS256 signature", `${b64url({ alg: "RS256", typ: "JWT" })}.${b64url(claims)}.${signature}`],
    ["wrong secret", await signClaims(claims, "another-secret-of-sufficient-length-0123456789")],
    ["expired", await signClaims({ ...claims, iat: nowSeconds() - 2_000, exp: nowSeconds() - 10 })],
    ["exp in milliseconds", await signClaims({ ...claims, exp: Date.now() + 600_000 })],
    ["iat in the future", await signClaims({ ...claims, iat: nowSeconds() + 300, exp: nowSeconds() + 900 })],
    ["lifetime of 400 days", await signClaims({ ...claims, exp: nowSeconds() + 400 * 86_400 })],
    ["missing sub", await signClaims(without("sub"))],
    ["missing exp", await signClaims(without("exp"))],
    ["missing iat", await signClaims(without("iat"))],
    ["missing iss", await signClaims(without("iss"))],
    ["missing aud", await signClaims(without("aud"))],
    ["missing ver", await signClaims(without("ver"))],
    ["wrong issuer", await signClaims({ ...claims, iss: "someone-else" })],
    ["wrong audience", await signClaims({ ...claims, aud: "another-app" })],
    ["non-string sub", await signClaims({ ...claims, sub: 12_345 })],
    ["operator as sub", await signClaims({ ...claims, sub: { $ne: null } })],
    ["unknown user", await signClaims({ ...claims, sub: crypto.randomUUID() })],
    ["newer ver than stored", await signClaims({ ...claims, ver: 1 })],
    [
      "tampered payload (role escalated)",
      `${header}.${b64url({ ...validClaims(admin), role: "superuser", sub: admin.id })}.${signature}`,
    ],
    ["tampered payload (other user)", `${header}.${b64url({ ...claims, sub: crypto.randomUUID() })}.${signature}`],
    ["token of a deleted user", deletedUsersToken],
    ["token of a deactivated user", deactivatedToken],
    ["garbage", "not-a-jwt"],
    ["three empty parts", ".."],
    ["oversized", `${await signClaims(claims)}${"A".repeat(5_000)}`],
  ];
});

async function request(op: Operation, authorization: string): Promise<Response> {
  const body = op.method === "GET" ? undefined : JSON.stringify(op.examples[0] ?? {});
  return exports.default.fetch(`http://api.test${fillPath(op.path, {})}`, {
    method: op.method,
    headers: { authorization, ...(body ? { "content-type": "application/json" } : {}) },
    body,
  });
}

describe("the JWT attack set on every protected route", () => {
  it("each attack → 401 (envelope, WWW-Authenticate); the control token passes authentication", async ({ task }) => {
    expect(protectedOps.length).toBeGreaterThanOrEqual(3);
    const control = await signClaims(validClaims(admin, { role: "admin" }));
    const failures: string[] = [];
    let tried = 0;
    let serverErrors = 0;
    let secrets = 0;
    // Routes that end sessions (logout, logout-all) would end the control token's session for
    // every route after them: they go last, each with a control token of a fresh sign-in.
    const endsSession = (op: Operation) => /\/logout/.test(op.path);
    const ordered = [
      ...protectedOps.filter((op) => !endsSession(op)),
      ...protectedOps.filter(endsSession).sort((a, b) => a.path.length - b.path.length),
    ];
    for (const op of ordered) {
      const ok = await request(op, `Bearer ${endsSession(op) ? await tokenFor(admin) : control}`);
      const okText = await ok.text();
      const okCode = ok.status === 401 ? (JSON.parse(okText) as { error?: { code?: string } }).error?.code : null;
      // change-password answers 401 invalid_credentials for the example's wrong current password: authenticated all the same.
      if (okCode === "invalid_token" || okCode === "unauthorized")
        failures.push(`${op.key}: the control token was refused: ${okText}`);
      for (const [name, token] of attacks) {
        tried++;
        const res = await request(op, `Bearer ${token}`);
        const text = await res.text();
        if (res.status >= 500) serverErrors++;
        if (secretIn(text, true)) secrets++;
        const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        if (
          res.status !== 401 ||
          !["invalid_token", "unauthorized"].includes(code ?? "") ||
          !/^Bearer /.test(res.headers.get("www-authenticate") ?? "")
        ) {
          failures.push(`${op.key} / ${name}: ${res.status} ${text.slice(0, 160)}`);
        }
      }
    }
    const logSecrets = secretsInLogs();
    task.meta.reliability = [
      {
        category: "JWT attacks × protected routes",
        tried,
        passed: tried - failures.length,
        serverErrors,
        documents: 0,
        secrets: secrets + logSecrets.length,
        note: `${attacks.length} attacks × ${protectedOps.length} routes`,
      },
    ];
    expect(failures).toEqual([]);
    expect(serverErrors).toBe(0);
    expect(secrets + logSecrets.length).toBe(0);
  });
});
