import type { Doc } from "./values.ts";

export const codeNames: Record<number, string> = {
  1: "InternalError",
  2: "BadValue",
  9: "FailedToParse",
  13: "Unauthorized",
  14: "TypeMismatch",
  20: "IllegalOperation",
  26: "NamespaceNotFound",
  27: "IndexNotFound",
  28: "PathNotViable",
  40: "ConflictingUpdateOperators",
  43: "CursorNotFound",
  48: "NamespaceExists",
  52: "DollarPrefixedFieldName",
  59: "CommandNotFound",
  66: "ImmutableField",
  67: "CannotCreateIndex",
  72: "InvalidOptions",
  73: "InvalidNamespace",
  85: "IndexOptionsConflict",
  86: "IndexKeySpecsConflict",
  112: "WriteConflict",
  115: "CommandNotSupported",
  197: "InvalidIndexSpecificationOption",
  225: "TransactionTooOld",
  251: "NoSuchTransaction",
  256: "TransactionCommitted",
  263: "OperationNotSupportedInTransaction",
  10107: "NotWritablePrimary",
  10334: "BSONObjectTooLarge",
  11000: "DuplicateKey",
  11602: "InterruptedDueToReplStateChange",
};

/** An error that becomes an `ok: 0` reply (or a writeErrors entry) with MongoDB's code. */
export class CommandError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly labels: string[];
  readonly extra: Doc;

  constructor(code: number, message: string, extra: Doc = {}, labels: string[] = []) {
    super(message);
    this.code = code;
    this.codeName = codeNames[code] ?? "UnknownError";
    this.extra = extra;
    this.labels = labels;
  }
}

export const transientLabel = "TransientTransactionError";

export function writeConflict(): CommandError {
  return new CommandError(
    112,
    "Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.",
    {},
    [transientLabel],
  );
}

export function toCommandError(e: unknown): CommandError {
  if (e instanceof CommandError) return e;
  const message = e instanceof Error ? e.message : String(e);
  // mingo reports unsupported/invalid operators with its own error class.
  return new CommandError(2, message);
}

export function errorReply(e: CommandError): Doc {
  const reply: Doc = { ok: 0, errmsg: e.message, code: e.code, codeName: e.codeName, ...e.extra };
  if (e.labels.length > 0) reply.errorLabels = e.labels;
  return reply;
}
