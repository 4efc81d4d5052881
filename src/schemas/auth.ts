import { z } from "@hono/zod-openapi";
import { ROLES } from "../db/collections.ts";
import { OTP_PURPOSES } from "../db/otp.ts";
import { validateNewPassword } from "../services/auth/passwords.ts";
import { CustomerPublicSchema, EmailSchema, PhoneInputSchema } from "./customers.ts";

/** Generous bound for passwords of existing accounts (legacy ones are ≤ 72 bytes); keeps hashing input small. */
const MAX_LOGIN_PASSWORD_CHARS = 1_024;

export const LoginRequestSchema = z
  .strictObject({
    email: EmailSchema.optional(),
    phone: PhoneInputSchema.optional(),
    password: z.string().min(1).max(MAX_LOGIN_PASSWORD_CHARS),
  })
  .superRefine((body, ctx) => {
    if ((body.email === undefined) === (body.phone === undefined)) {
      ctx.addIssue({ code: "custom", path: ["email"], message: "Provide exactly one of email or phone." });
    }
  })
  .openapi("LoginRequest", {
    description: "Either `email` (any letter case) or `phone` (any Indian spelling), plus `password`.",
    examples: [
      { email: "Ravi.Kumar@Gmail.com", password: "correct horse battery" },
      { phone: "+91 98765 43210", password: "correct horse battery" },
    ],
  });

export const ChangePasswordRequestSchema = z
  .strictObject({
    current_password: z.string().min(1).max(MAX_LOGIN_PASSWORD_CHARS),
    new_password: z.string().superRefine((value, ctx) => {
      const problem = validateNewPassword(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  })
  .superRefine((body, ctx) => {
    if (body.current_password === body.new_password) {
      ctx.addIssue({ code: "custom", path: ["new_password"], message: "The new password must differ from the current one." });
    }
  })
  .openapi("ChangePasswordRequest", {
    description: "`new_password`: 8–72 bytes in UTF-8, different from the current one.",
    examples: [{ current_password: "Initial-Pa55word", new_password: "my new secret 2025" }],
  });

export const AuthUserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    phone: z.string().nullable(),
    name: z.string().nullable(),
    role: z.enum(ROLES),
    customer_v2_id: z.string().nullable().openapi({ description: "Linked customer (only when the link holds both ways)." }),
    must_change_password: z.boolean(),
  })
  .openapi("AuthUser");

const tokenFields = {
  access_token: z.string(),
  token_type: z.literal("bearer"),
  expires_in: z.number().int().openapi({ description: "Seconds until the access token expires." }),
  refresh_token: z
    .string()
    .openapi({ description: "Opaque (256 random bits, base64url); exchange it at POST /api/auth/refresh. Shown once." }),
  refresh_expires_in: z
    .number()
    .int()
    .openapi({ description: "Seconds until the refresh token expires (REFRESH_TOKEN_TTL_SECONDS)." }),
};

export const TokenResponseSchema = z.object({ ...tokenFields, user: AuthUserSchema }).openapi("TokenResponse");

export const RefreshResponseSchema = z.object(tokenFields).openapi("RefreshResponse");

export const RefreshRequestSchema = z
  .strictObject({ refresh_token: z.string().min(16).max(512) })
  .openapi("RefreshRequest", { examples: [{ refresh_token: "Q2hvb3NlIGEgcmVmcmVzaCB0b2tlbiBmcm9tIGxvZ2lu" }] });

export const SessionSchema = z
  .object({
    id: z.string().openapi({ description: "The session (one per sign-in; stays the same across refreshes)." }),
    created_at: z.string().openapi({ description: "When the session signed in (ISO 8601)." }),
    last_used_at: z.string().openapi({ description: "The last sign-in or refresh (ISO 8601)." }),
    user_agent: z.string().nullable(),
    ip: z.string().nullable(),
    current: z.boolean().openapi({ description: "The session of the token making this request." }),
  })
  .openapi("Session");

export const SessionsResponseSchema = z.object({ sessions: z.array(SessionSchema) }).openapi("Sessions");

export const SessionIdParamsSchema = z.object({ id: z.string().min(1).max(64) });

export const MeResponseSchema = z
  .object({
    user_id: z.string(),
    email: z.string(),
    role: z.enum(ROLES),
    customer_v2_id: z.string().nullable(),
    customer: CustomerPublicSchema.nullable().openapi({
      description: "The linked customer in its owner shape (CustomerPublic), or null.",
    }),
  })
  .openapi("Me");

const CodeSchema = z
  .string()
  .regex(/^\d{6}$/, "A code is 6 digits.")
  .openapi({ example: "493817" });

export const OtpRequestSchema = z
  .strictObject({ phone: PhoneInputSchema, purpose: z.enum(OTP_PURPOSES) })
  .openapi("OtpRequest", { examples: [{ phone: "98765 43210", purpose: "login" }] });

export const OtpRequestAnswerSchema = z
  .object({
    expires_in: z.number().int().openapi({ description: "Seconds the code stays valid (300)." }),
    resend_after: z.number().int().openapi({ description: "Seconds before another code may be requested (30)." }),
  })
  .openapi("OtpRequestAnswer");

export const OtpVerifySchema = z
  .strictObject({ phone: PhoneInputSchema, code: CodeSchema })
  .openapi("OtpVerify", { examples: [{ phone: "98765 43210", code: "493817" }] });

export const PasswordResetSchema = z
  .strictObject({
    phone: PhoneInputSchema,
    code: CodeSchema,
    new_password: z.string().superRefine((value, ctx) => {
      const problem = validateNewPassword(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  })
  .openapi("PasswordReset", { examples: [{ phone: "98765 43210", code: "493817", new_password: "my new secret 2025" }] });
