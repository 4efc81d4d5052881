import type { AuthEventType } from "../../db/auth-events.ts";
import type { RequestDeps } from "../../env.ts";

export interface AuditFields {
  user_id?: string;
  identifier_hash?: string;
  details?: Record<string, unknown>;
}

/**
 * Writes one `auth_events` record for this request. No secret ever goes in: callers pass ids,
 * keyed identifier hashes and reasons only. A failed write is logged and does not fail the
 * request (the login or logout it records has already happened).
 */
export async function audit(deps: RequestDeps, type: AuthEventType, fields: AuditFields = {}): Promise<void> {
  try {
    await deps.store.recordAuthEvent({
      id: crypto.randomUUID(),
      at: deps.now,
      type,
      ...fields,
      ip: deps.clientIp,
      user_agent: deps.userAgent,
      request_id: deps.requestId,
    });
  } catch (err) {
    deps.logger.warn("audit event not recorded", { type, error: (err as Error).name });
  }
}
