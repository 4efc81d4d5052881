/** A MongoDB duplicate-key error (E11000); `keyPattern` names the unique index's fields. */
export function isDuplicateKey(err: unknown): err is { code: 11000; keyPattern?: Record<string, unknown> } {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 11000;
}

const UNAVAILABLE_ERROR_NAMES =
  /^Mongo(ServerSelection|Network|NetworkTimeout|NotConnected|TopologyClosed|ParseError|PoolCleared|PoolClosed|WaitQueueTimeout|OperationTimeout)Error$|^PoolClearedOnNetworkError$|^DatabaseUnavailableError$/;
/** Server codes meaning "no usable primary right now" (shutdown, step-down, not primary…). */
const UNAVAILABLE_SERVER_CODES = [6, 7, 89, 91, 189, 10107, 11600, 11602, 13435, 13436];

/**
 * Errors meaning "the database could not be reached", which the API reports as 503. Errors
 * that crossed Durable Object RPC arrive as plain `Error`s that keep `name` and `code`.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (UNAVAILABLE_ERROR_NAMES.test(err.name)) return true;
  const code = Number((err as { code?: unknown }).code);
  return /^Mongo\w*ServerError$|^MongoServerError$/.test(err.name) && UNAVAILABLE_SERVER_CODES.includes(code);
}

/** Raised on the Worker side when the database path gave no answer in time (gateway deadline). */
export class DatabaseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseUnavailableError";
  }
}
