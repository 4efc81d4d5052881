import { z } from "@hono/zod-openapi";
import { CUSTOMER_STATUSES, ROLES } from "../db/collections.ts";
import { EmailSchema, PhoneInputSchema } from "./customers.ts";
import { validateNewPassword } from "../services/auth/passwords.ts";

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

export const TokenResponseSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal("bearer"),
    expires_in: z.number().int().openapi({ description: "Seconds until the token expires." }),
    user: AuthUserSchema,
  })
  .openapi("TokenResponse");

/** The customers_v2 document as stored (legacy fields vary), without `_id`. */
export const LinkedCustomerSchema = z
  .looseObject({
    id: z.string(),
    user_id: z.string().nullish(),
    name: z.string(),
    status: z.enum(CUSTOMER_STATUSES),
  })
  .openapi("LinkedCustomer");

export const MeResponseSchema = z
  .object({
    user_id: z.string(),
    email: z.string(),
    role: z.enum(ROLES),
    customer_v2_id: z.string().nullable(),
    customer: LinkedCustomerSchema.nullable(),
  })
  .openapi("Me");
