import { z } from "@hono/zod-openapi";
import { CUSTOMER_STATUSES, ROLES } from "../db/collections.ts";
import { CustomerSchema, IdSchema, IsoDateSchema, LocationSchema, PhoneInputSchema } from "./customers.ts";
import { SUBSCRIPTION_MODES, SUBSCRIPTION_SHIFTS, SUBSCRIPTION_STATUSES } from "./subscriptions.ts";

export const CustomerListQuerySchema = z.object({
  q: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .openapi({
      description:
        "Phone prefix (digits in any spelling: `98450`, `+91 98450`, `098450 12345`) or case-insensitive name prefix (`asha r`). " +
        "Text with a digit that is not a phone spelling is treated as a name prefix.",
      example: "98450",
    }),
  area: z.string().trim().min(1).max(200).optional().openapi({ description: "Exact area." }),
  status: z.enum(CUSTOMER_STATUSES).optional(),
  linked: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .openapi({
      type: "string",
      enum: ["true", "false"],
      description: "true: customers_v2.user_id is set; false: it is null or absent.",
    }),
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ type: "integer", default: 20 }),
  cursor: z.string().min(1).max(1000).optional().openapi({ description: "next_cursor of the previous page (opaque)." }),
});

export const CustomerListSchema = z
  .object({
    items: z.array(CustomerSchema),
    next_cursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last page." }),
  })
  .openapi("CustomerList");

const text = (max: number) => z.string().trim().min(1).max(max);
const httpUrl = z
  .url({ protocol: /^https?$/, message: "Must be an http(s) URL." })
  .max(2048)
  .openapi({ format: "uri" });

/** Fields no PATCH may change (422 `field_not_patchable`). */
export const UNPATCHABLE_CUSTOMER_FIELDS = ["id", "user_id", "created_at", "_id"] as const;

export const CustomerPatchSchema = z
  .strictObject({
    name: text(200).optional(),
    phone: PhoneInputSchema.optional(),
    status: z.enum(CUSTOMER_STATUSES).optional(),
    address: text(500).nullable().optional(),
    area: text(200).nullable().optional(),
    map_link: httpUrl.nullable().optional(),
    location: LocationSchema.nullable().optional(),
    trial_start_date: IsoDateSchema.nullable().optional(),
    notes: z.string().trim().max(2000).nullable().optional(),
    house_image_url: httpUrl.nullable().optional(),
    delivery_boy_id: IdSchema.nullable().optional(),
  })
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), "At least one field is required.")
  .openapi("CustomerPatch", {
    description:
      "Fields to change; null removes an optional field. `id`, `user_id`, `created_at` → 422 field_not_patchable; other unknown fields → 422 validation_error.",
    example: { address: "#14, 4th Cross, HAL 2nd Stage, Indiranagar", phone: "98450 12399", notes: null },
  });

export const SubscriptionWithProductSchema = z
  .object({
    id: z.string(),
    customer_id: z.string(),
    product_id: z.string(),
    product: z
      .object({ name: z.string(), unit: z.string() })
      .nullable()
      .openapi({ description: "null when the product no longer exists." }),
    price_per_unit: z.number().optional(),
    mode: z.enum(SUBSCRIPTION_MODES).or(z.string()),
    default_qty: z.number().optional(),
    shift: z.enum(SUBSCRIPTION_SHIFTS).or(z.string()).optional(),
    weekly_pattern: z.array(z.number()).optional(),
    day_overrides: z.array(z.unknown()).optional(),
    irregular_list: z.array(z.unknown()).optional(),
    pause_intervals: z.array(z.object({ start: z.string(), end: z.string() })).optional(),
    stop_date: z.string().nullable().optional(),
    status: z.enum(SUBSCRIPTION_STATUSES).or(z.string()),
    start_date: z.string().optional(),
    created_at: z.string().optional(),
  })
  .openapi("SubscriptionWithProduct");

export const CustomerSubscriptionsSchema = z
  .object({ customer_id: z.string(), subscriptions: z.array(SubscriptionWithProductSchema) })
  .openapi("CustomerSubscriptions");

export const ResetPasswordResponseSchema = z
  .object({
    user_id: IdSchema,
    initial_password: z
      .string()
      .openapi({ description: "The new random password; shown only in this response; must be changed at first login." }),
  })
  .openapi("ResetPasswordResponse");

export const CreatedLoginSchema = z
  .object({
    user: z.object({
      id: IdSchema,
      email: z.string(),
      role: z.enum(ROLES),
      customer_v2_id: IdSchema,
      phone: z.string().nullable().openapi({
        description: "The customer's phone normalized; null when it is missing or not a valid Indian mobile number.",
      }),
      name: z.string(),
    }),
    initial_password: z
      .string()
      .openapi({ description: "Random initial password; shown only in this response; must be changed at first login." }),
  })
  .openapi("CreatedCustomerLogin");

export const UserIdParamsSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: "8423fa5b-dc00-4da5-8bc9-afd3ed004c2c" }),
});

export const ActivationResponseSchema = z
  .object({
    user_id: z.string(),
    is_active: z.boolean(),
    changed: z.boolean().openapi({ description: "false when the user already was in this state." }),
    sessions_revoked: z.number().int(),
  })
  .openapi("UserActivation");

export const AdminStatsSchema = z
  .object({
    customers: z.number().int(),
    customers_linked: z
      .number()
      .int()
      .openapi({ description: "Customers linked both ways (customers_v2.user_id ⇄ users.customer_v2_id)." }),
    link_rate: z
      .number()
      .openapi({ description: "customers_linked / customers, 4 decimals (0 with no customers). The seed's target is ≥ 0.9." }),
    one_way_links: z
      .number()
      .int()
      .openapi({ description: "Link pointers (on either side, dangling ones included) that the other side does not return." }),
    users_by_role: z.record(z.string(), z.number().int()).openapi({ description: "Every role, 0 when none." }),
    logins_24h: z
      .number()
      .int()
      .openapi({ description: "Successful logins (auth_events login_succeeded) in the 24 h before the request." }),
    failed_logins_24h: z.number().int().openapi({ description: "auth_events login_failed in the 24 h before the request." }),
    locked_accounts: z.number().int().openapi({ description: "auth_rate_limits documents whose locked_until is in the future." }),
  })
  .openapi("AdminStats");
