import { z } from "@hono/zod-openapi";
import { CreateCustomerResponseSchema, CUSTOMER_EXAMPLE, CustomerInputSchema, IdSchema, IsoDateSchema } from "./customers.ts";

export const SUBSCRIPTION_MODES = ["fixed_daily", "weekly_pattern", "day_by_day", "irregular", "one_time"] as const;
export const SUBSCRIPTION_SHIFTS = ["morning", "evening", "both"] as const;
export const SUBSCRIPTION_STATUSES = ["draft", "active", "paused", "stopped"] as const;

const Quantity = z.number().min(0).max(1000);

const DatedQuantitySchema = z.strictObject({ date: IsoDateSchema, qty: Quantity }).openapi("DatedQuantity");

const PauseIntervalSchema = z
  .strictObject({ start: IsoDateSchema, end: IsoDateSchema })
  .refine((p) => p.start <= p.end, { message: "start must not be after end.", path: ["end"] })
  .openapi("PauseInterval");

function duplicates<T>(values: T[]): T[] {
  const seen = new Set<T>();
  const dups = new Set<T>();
  for (const v of values) (seen.has(v) ? dups : seen).add(v);
  return [...dups];
}

export const SubscriptionInputSchema = z
  .strictObject({
    product_id: IdSchema,
    price_per_unit: z.number().min(0).max(100_000).optional().openapi({
      description: "Defaults to the product's default_price.",
    }),
    mode: z.enum(SUBSCRIPTION_MODES),
    default_qty: z.number().gt(0).max(1000).default(1),
    shift: z.enum(SUBSCRIPTION_SHIFTS).default("morning"),
    weekly_pattern: z
      .array(z.number().int().min(0).max(6))
      .min(1)
      .max(7)
      .optional()
      .openapi({ description: "Delivery weekdays, 0 = Sunday … 6 = Saturday; required for mode weekly_pattern only." }),
    day_overrides: z.array(DatedQuantitySchema).max(366).optional(),
    irregular_list: z
      .array(DatedQuantitySchema)
      .max(366)
      .optional()
      .openapi({ description: "Delivery dates and quantities; required for mode irregular only." }),
    pause_intervals: z.array(PauseIntervalSchema).max(100).optional(),
    stop_date: IsoDateSchema.nullable().optional(),
    status: z.enum(SUBSCRIPTION_STATUSES).default("active"),
    start_date: IsoDateSchema,
  })
  .superRefine((s, ctx) => {
    if (s.mode === "weekly_pattern" && s.weekly_pattern === undefined) {
      ctx.addIssue({ code: "custom", path: ["weekly_pattern"], message: "Required for mode weekly_pattern." });
    }
    if (s.mode !== "weekly_pattern" && s.weekly_pattern !== undefined) {
      ctx.addIssue({ code: "custom", path: ["weekly_pattern"], message: "Only allowed with mode weekly_pattern." });
    }
    if (s.weekly_pattern !== undefined && duplicates(s.weekly_pattern).length > 0) {
      ctx.addIssue({ code: "custom", path: ["weekly_pattern"], message: "Days must not repeat." });
    }
    if (s.mode === "irregular" && (s.irregular_list === undefined || s.irregular_list.length === 0)) {
      ctx.addIssue({ code: "custom", path: ["irregular_list"], message: "At least one date is required for mode irregular." });
    }
    if (s.mode !== "irregular" && s.irregular_list !== undefined) {
      ctx.addIssue({ code: "custom", path: ["irregular_list"], message: "Only allowed with mode irregular." });
    }
    for (const field of ["irregular_list", "day_overrides"] as const) {
      const list = s[field];
      if (list !== undefined && duplicates(list.map((d) => d.date)).length > 0) {
        ctx.addIssue({ code: "custom", path: [field], message: "Dates must not repeat." });
      }
    }
    if (s.stop_date != null && s.stop_date < s.start_date) {
      ctx.addIssue({ code: "custom", path: ["stop_date"], message: "Must not be before start_date." });
    }
  })
  .openapi("SubscriptionInput");

export type SubscriptionInput = z.output<typeof SubscriptionInputSchema>;

export const CustomerWithSubscriptionBodySchema = z
  .strictObject({ customer: CustomerInputSchema, subscription: SubscriptionInputSchema })
  .openapi("CustomerWithSubscriptionInput", {
    example: {
      customer: CUSTOMER_EXAMPLE,
      subscription: {
        product_id: "d5f4b3b2-e4b0-4ce6-8741-c7a87ce42c82",
        mode: "weekly_pattern",
        weekly_pattern: [1, 3, 5],
        default_qty: 2,
        shift: "morning",
        start_date: "2026-12-01",
      },
    },
  });

export const SubscriptionSchema = z
  .object({
    id: IdSchema,
    customer_id: IdSchema,
    product_id: IdSchema,
    price_per_unit: z.number(),
    mode: z.enum(SUBSCRIPTION_MODES),
    default_qty: z.number(),
    shift: z.enum(SUBSCRIPTION_SHIFTS),
    weekly_pattern: z.array(z.number()).optional(),
    day_overrides: z.array(DatedQuantitySchema).optional(),
    irregular_list: z.array(DatedQuantitySchema).optional(),
    pause_intervals: z.array(PauseIntervalSchema).optional(),
    stop_date: z.string().nullable().optional(),
    status: z.enum(SUBSCRIPTION_STATUSES),
    start_date: z.string(),
    created_at: z.string().optional(),
  })
  .openapi("Subscription");

export const CreateCustomerWithSubscriptionResponseSchema = CreateCustomerResponseSchema.extend({
  subscription: SubscriptionSchema,
}).openapi("CreateCustomerWithSubscriptionResponse");
