import { OpenAPIHono } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import type { AppEnv } from "../env.ts";
import { errorBody } from "./errors.ts";

export interface FieldIssue {
  path: string;
  message: string;
}

/** Flattens zod issues into `[{path: "customer.phone", message}]` for the error envelope. */
export function fieldIssues(error: ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
}

/**
 * Every resource router is an OpenAPIHono so that its zod schemas both validate requests
 * and describe them in /openapi.json. Validation failures become 422 `validation_error`.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return c.json(errorBody("validation_error", "The request is invalid.", fieldIssues(result.error)), 422);
      }
      return undefined;
    },
  });
}
