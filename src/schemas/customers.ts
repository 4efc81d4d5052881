import { z } from "@hono/zod-openapi";
import { CUSTOMER_STATUSES, ROLES } from "../db/collections.ts";
import { normalizePhone } from "../lib/phone.ts";

/** Application ids are UUID strings (legacy ones included); `_id` is never exposed. */
export const IdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, "Must be a UUID.")
  .openapi({ format: "uuid", example: "3f2457cd-a177-4b6e-847e-1bcd103f3569" });

function isCalendarDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/** A calendar date as the legacy system stores it (`YYYY-MM-DD`). */
export const IsoDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Must be a date in YYYY-MM-DD form.")
  .refine(isCalendarDate, "Must be a real calendar date.")
  .openapi({ format: "date", example: "2025-06-01" });

const text = (max: number) => z.string().trim().min(1).max(max);
const httpUrl = z
  .url({ protocol: /^https?$/, message: "Must be an http(s) URL." })
  .max(2048)
  .openapi({ format: "uri" });

/** Indian mobile number in any accepted spelling (rules: normalizePhone); the output is the 10-digit form. */
export const PhoneInputSchema = z
  .string()
  .max(32)
  .transform((raw, ctx) => {
    const normalized = normalizePhone(raw);
    if (normalized === null) {
      ctx.issues.push({
        code: "custom",
        input: raw,
        message: "Must be an Indian mobile number: 10 digits starting with 6-9, optionally prefixed by +91, 91 or 0.",
      });
      return z.NEVER;
    }
    return normalized;
  })
  .openapi({ type: "string", example: "+91 98765 43210" });

/**
 * An email address, the one rule for every email the API or a script accepts: trimmed, at most
 * 254 characters, zod's email syntax; the output is lower-case (stored that way, and looked up
 * case-insensitively, so legacy mixed-case addresses still match).
 */
export const EmailSchema = z
  .string()
  .trim()
  .max(254)
  .regex(z.regexes.email, "Invalid email address.")
  .transform((email) => email.toLowerCase())
  .openapi({ type: "string", format: "email", example: "ravi.kumar@gmail.com" });

export const LocationSchema = z
  .strictObject({
    lat: z.number().min(-90).max(90),
    lng: z.number().min(-180).max(180),
    accuracy_meters: z.number().min(0).max(100_000).optional(),
  })
  .openapi("Location");

/** Shown in /openapi.json; docs tests check that the validator accepts it. */
export const CUSTOMER_EXAMPLE = {
  name: "Asha Rao",
  phone: "+91 98450 12345",
  address: "#12, 4th Cross, HAL 2nd Stage, Indiranagar, Bengaluru 560038",
  area: "Indiranagar",
  location: { lat: 12.9716, lng: 77.6412, accuracy_meters: 15 },
  status: "trial",
  trial_start_date: "2026-12-01",
  notes: "Ring twice; no delivery on Sundays",
};

const Money = z.number().min(-10_000_000).max(10_000_000);

/** Body of POST /customers and the `customer` part of POST /customers-with-subscription. */
export const CustomerInputSchema = z
  .strictObject({
    name: text(200),
    phone: PhoneInputSchema,
    address: text(500).optional(),
    area: text(200).optional(),
    map_link: httpUrl.optional(),
    location: LocationSchema.optional(),
    status: z.enum(CUSTOMER_STATUSES).default("trial"),
    trial_start_date: IsoDateSchema.optional(),
    notes: z.string().trim().max(2000).optional(),
    house_image_url: httpUrl.optional(),
    marketing_boy: text(200).optional(),
    marketing_boy_id: IdSchema.optional(),
    delivery_boy_id: IdSchema.optional(),
    previous_balance: Money.optional(),
    custom_product_prices: z
      .record(IdSchema, z.number().min(0).max(100_000))
      .refine((prices) => Object.keys(prices).length <= 100, "At most 100 custom prices.")
      .optional()
      .openapi({ description: "Price per unit by product id." }),
    email: EmailSchema.optional().openapi({ description: "Login email of the new user; default customer-{id}@earlybird.local." }),
    user_id: IdSchema.optional().openapi({
      description: "Link this existing, unlinked customer-role user instead of creating one.",
    }),
  })
  .superRefine((input, ctx) => {
    if (input.user_id !== undefined && input.email !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["email"],
        message: "email applies to a newly created user; it cannot be combined with user_id.",
      });
    }
  })
  .openapi("CustomerInput", { example: CUSTOMER_EXAMPLE });

export type CustomerInput = z.output<typeof CustomerInputSchema>;

export const CustomerSchema = z
  .object({
    id: IdSchema,
    user_id: IdSchema.nullable().optional(),
    name: z.string(),
    phone: z.string().nullable().optional(),
    address: z.string().optional(),
    area: z.string().optional(),
    map_link: z.string().optional(),
    location: LocationSchema.optional(),
    status: z.string(),
    trial_start_date: z.string().optional(),
    notes: z.string().optional(),
    house_image_url: z.string().optional(),
    marketing_boy: z.string().optional(),
    marketing_boy_id: z.string().optional(),
    delivery_boy_id: z.string().optional(),
    previous_balance: z.number().optional(),
    custom_product_prices: z.record(z.string(), z.number()).optional(),
    created_at: z.string().optional().openapi({ description: "ISO timestamp (legacy documents: naive UTC)." }),
    updated_at: z.string().optional().openapi({ description: "ISO timestamp of the last edit through this API." }),
  })
  .openapi("Customer", {
    description:
      "A customer as staff see it. Internal search fields (phone_normalized, phone_search, name_search) are never returned. " +
      "A customer reading its own record gets the CustomerPublic subset (no notes, no staff attribution).",
  });

/** Fields a customer sees of its own record (GET /api/auth/me, GET /customers/{id}, subscriptions). */
export const CUSTOMER_OWNER_FIELDS = [
  "id",
  "user_id",
  "name",
  "phone",
  "address",
  "area",
  "map_link",
  "location",
  "status",
  "trial_start_date",
  "house_image_url",
  "previous_balance",
  "custom_product_prices",
  "created_at",
] as const;

export const CustomerPublicSchema = CustomerSchema.pick({
  id: true,
  user_id: true,
  name: true,
  phone: true,
  address: true,
  area: true,
  map_link: true,
  location: true,
  status: true,
  trial_start_date: true,
  house_image_url: true,
  previous_balance: true,
  custom_product_prices: true,
  created_at: true,
}).openapi("CustomerPublic", {
  description: "A customer's own record as the customer sees it: no staff notes, no staff attribution, no internal fields.",
});

export const LinkedUserSchema = z
  .object({
    id: IdSchema,
    email: z.string(),
    role: z.enum(ROLES),
    customer_v2_id: IdSchema,
  })
  .openapi("LinkedUser");

const InitialPassword = z.string().nullable().openapi({
  description:
    "Random initial password of the created user (must be changed at first login). null when an existing user was linked through user_id.",
});

export const CreateCustomerResponseSchema = z
  .object({ customer: CustomerSchema, user: LinkedUserSchema, initial_password: InitialPassword })
  .openapi("CreateCustomerResponse");

export const CustomerIdParamsSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: "3f2457cd-a177-4b6e-847e-1bcd103f3569" }),
});

export const IdempotencyHeadersSchema = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, "Must be 1-255 visible ASCII characters.")
    .optional()
    .openapi({
      description: "Retries with the same key and body return the first response instead of creating again (24 h).",
      example: "6a1f0c3e-4b2d-4e8f-9a7b-1c2d3e4f5a6b",
    }),
});
