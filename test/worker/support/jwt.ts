// Hand-made access tokens for the JWT tests: the claims the API issues, signed with the
// suite's secret (or another key or algorithm).
import { sign } from "hono/jwt";
import { bindings } from "./fixture.ts";

export const ISSUER = "earlybird-api";
export const AUDIENCE = "earlybird-app";

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Signs arbitrary claims with the test secret (or another key / algorithm) for attack tests. */
export function signClaims(claims: Record<string, unknown>, key: string = bindings.JWT_SECRET, alg: "HS256" | "HS512" = "HS256") {
  return sign(claims, key, alg);
}

/** The claims the API would issue for `user` in its session `sid` (see createUser). */
export function validClaims(user: { id: string; email: string; sid: string }, extra: Record<string, unknown> = {}) {
  const iat = nowSeconds();
  return {
    sub: user.id,
    email: user.email,
    role: "customer",
    iat,
    exp: iat + 600,
    iss: ISSUER,
    aud: AUDIENCE,
    ver: 0,
    sid: user.sid,
    ...extra,
  };
}
