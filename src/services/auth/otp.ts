// Phone one-time codes: request, login with a code, password reset with a code.
import type { OtpPurpose } from "../../db/otp.ts";
import type { RequestDeps } from "../../env.ts";
import { keyedHash, randomDigits } from "../../lib/crypto.ts";
import { ApiError } from "../../lib/errors.ts";
import { normalizePhone } from "../../lib/phone.ts";
import { sendSms } from "../sms/index.ts";
import { audit } from "./audit.ts";
import { fixedWindow, gateAttempt, identifierHash, tooManyRequests } from "./limits.ts";
import type { LoginResult } from "./login-view.ts";
import { newSession, tokenResponse } from "./sessions.ts";
import { signingSecret } from "./tokens.ts";

export const OTP_TTL_SECONDS = 300;
export const OTP_RESEND_SECONDS = 30;
export const OTP_MAX_ATTEMPTS = 5;
export const OTP_HOURLY_CAP = 5;
const OTP_DIGITS = 6;

export interface OtpRequestAnswer {
  expires_in: number;
  resend_after: number;
}

/** Runs work after the response (ExecutionContext.waitUntil), so sending never shows in the answer's timing. */
export type Defer = (work: Promise<unknown>) => void;

let smsProblemLogged = false;

function assertSmsConfigured(deps: Pick<RequestDeps, "config" | "logger">): void {
  if (!deps.config.smsProblem) return;
  if (!smsProblemLogged) {
    smsProblemLogged = true;
    deps.logger.error("one-time codes disabled: SMS misconfigured", { problem: deps.config.smsProblem });
  }
  throw new ApiError(500, "server_misconfigured", "Sending SMS is not configured on this server.");
}

function phoneKey(deps: Pick<RequestDeps, "config">, phone: string): Promise<string> {
  return keyedHash(signingSecret(deps.config), "otp-phone", phone);
}

function codeHash(deps: Pick<RequestDeps, "config">, key: string, code: string): Promise<string> {
  return keyedHash(signingSecret(deps.config), "otp-code", `${key}:${code}`);
}

function smsText(code: string, purpose: OtpPurpose): string {
  const what = purpose === "reset" ? "password reset" : "login";
  return `${code} is your EarlyBird ${what} code. It expires in 5 minutes. Do not share it with anyone.`;
}

export function invalidCode(): ApiError {
  return new ApiError(401, "invalid_code", "The code is wrong, used up or expired. Request a new one.");
}

/**
 * POST /otp/request. Answers the same 202 for every valid phone, after the same database
 * work; the code is generated every time but stored and sent only when exactly one active
 * user has the phone, and the SMS goes out after the response (`defer`). 429 within 30 s of
 * the previous request or beyond 5 codes an hour for the phone, known or not.
 */
export async function requestOtp(
  deps: RequestDeps,
  phoneInput: string,
  purpose: OtpPurpose,
  defer: Defer,
): Promise<OtpRequestAnswer> {
  const { store, config, logger, now } = deps;
  assertSmsConfigured(deps);
  const phone = normalizePhone(phoneInput);
  if (!phone)
    throw new ApiError(422, "validation_error", "The request is invalid.", [
      { path: "phone", message: "Not a valid Indian mobile number." },
    ]);
  await gateAttempt(deps, null);
  const key = await phoneKey(deps, phone);
  const code = randomDigits(OTP_DIGITS);
  const hourWindow = fixedWindow("otp-hour", key, now, 3600);
  const outcome = await store.issueOtp({
    key,
    phoneNormalized: phone,
    purpose,
    codeHash: await codeHash(deps, key, code),
    now,
    ttlSeconds: OTP_TTL_SECONDS,
    cooldownSeconds: OTP_RESEND_SECONDS,
    hourWindow,
    hourlyCap: OTP_HOURLY_CAP,
  });
  if (outcome.outcome === "cooldown")
    throw tooManyRequests(
      Math.max(1, Math.ceil(outcome.retry_after_ms / 1000)),
      "A code was sent moments ago; wait before asking again.",
    );
  if (outcome.outcome === "capped") throw tooManyRequests(hourWindow.retry_after, "Too many codes for this number this hour.");
  const idHash = await identifierHash(config, `phone:${phone}`);
  if (outcome.user_id) {
    const message = { to: phone, text: smsText(code, purpose), purpose, code };
    // After the response: the answer's timing does not depend on the gateway, and a failure
    // is only logged (sendSms never throws).
    defer(sendSms(config, logger, message));
    logger.info("one-time code issued", { purpose, user_id: outcome.user_id });
    await audit(deps, "otp_sent", { user_id: outcome.user_id, identifier_hash: idHash, details: { purpose } });
  } else {
    // Same database work as a sent code (one audit write), so the answer time says nothing either.
    logger.info("one-time code not sent: no single active user has this phone", { purpose });
    await audit(deps, "otp_failed", {
      identifier_hash: idHash,
      details: { purpose, stage: "request", reason: "no_single_active_user" },
    });
  }
  return { expires_in: OTP_TTL_SECONDS, resend_after: OTP_RESEND_SECONDS };
}

/** Checks and uses up a code; 401 invalid_code (and `otp_failed`) when it does not verify. */
async function useCode(
  deps: RequestDeps,
  phoneInput: string,
  code: string,
  purpose: OtpPurpose,
): Promise<{ userId: string; idHash: string }> {
  const phone = normalizePhone(phoneInput);
  if (!phone) throw invalidCode();
  await gateAttempt(deps, null);
  const key = await phoneKey(deps, phone);
  const idHash = await identifierHash(deps.config, `phone:${phone}`);
  const check = await deps.store.consumeOtp(key, await codeHash(deps, key, code), purpose, deps.now, OTP_MAX_ATTEMPTS);
  if (!check.ok) {
    deps.logger.info("one-time code refused", { purpose, burned: check.burned });
    await audit(deps, "otp_failed", { identifier_hash: idHash, details: { purpose, burned: check.burned } });
    throw invalidCode();
  }
  return { userId: check.user_id, idHash };
}

/** POST /otp/verify: a login code → tokens and a new session, as login answers. */
export async function verifyOtp(deps: RequestDeps, phone: string, code: string): Promise<LoginResult> {
  const { userId, idHash } = await useCode(deps, phone, code, "login");
  const user = await deps.store.userWithLinkedCustomer(userId);
  if (!user) throw invalidCode();
  if (user.is_active === false) throw new ApiError(403, "account_inactive", "This account is deactivated.");
  const { doc, refreshToken } = await newSession(deps, user.id, user.token_version ?? 0);
  await deps.store.beginSession(doc, null);
  deps.logger.info("login succeeded", { method: "otp", user_id: user.id, role: user.role });
  await audit(deps, "otp_succeeded", { user_id: user.id, identifier_hash: idHash, details: { purpose: "login" } });
  return tokenResponse(deps, user, doc.id, refreshToken);
}

/**
 * POST /password/reset: a reset code and a new password → the password replaced, token_version
 * bumped, every session revoked and must_change_password cleared (one transaction), then
 * tokens of a new session, as login answers.
 */
export async function resetPasswordWithCode(
  deps: RequestDeps,
  phone: string,
  code: string,
  newPassword: string,
  hash: (plain: string) => Promise<string>,
): Promise<LoginResult> {
  const { userId, idHash } = await useCode(deps, phone, code, "reset");
  const { doc, refreshToken } = await newSession(deps, userId, 0);
  const user = await deps.store.resetPasswordBySms(userId, await hash(newPassword), doc, deps.now);
  if (!user) throw invalidCode();
  deps.logger.info("password reset by one-time code", { user_id: userId });
  await audit(deps, "otp_succeeded", { user_id: userId, identifier_hash: idHash, details: { purpose: "reset" } });
  await audit(deps, "password_reset", { user_id: userId, details: { via: "otp" } });
  return tokenResponse(deps, user, doc.id, refreshToken);
}
