// Replica-set state of the one-node set: the election term (electionId) and simulated
// step-downs, during which the node is a secondary and refuses writes as MongoDB does.
import { ObjectId } from "bson";
import { CommandError, transientLabel } from "./errors.ts";
import type { Doc } from "./values.ts";

export const retryableWriteLabel = "RetryableWriteError";

export interface StepDownOptions {
  /**
   * How long the node stays secondary (hello: isWritablePrimary false), refusing every write
   * with NotWritablePrimary. Default: 0 when `failNextWrites` is given, else 1000.
   * After the window a new election makes it primary again with a higher electionId.
   */
  ms?: number;
  /**
   * The next `n` writes (counted after the window, or at once when `ms` is 0) fail with
   * NotWritablePrimary while hello already reports the new primary.
   */
  failNextWrites?: number;
  /**
   * Apply the writes refused through `failNextWrites` before answering with the error, as when
   * a step-down interrupts a write that already committed: only the (lsid, txnNumber)
   * de-duplication of retryable writes keeps a retry from applying them twice.
   */
  writesApplied?: boolean;
}

export interface StepDownInfo {
  /** When the node is primary again (same as the start when `ms` is 0). */
  until: Date;
  /** electionId the node reports once primary again. */
  electionId: ObjectId;
}

/** Commands that need a writable primary (plus every command inside a transaction). */
const primaryOnly = new Set([
  "insert",
  "update",
  "delete",
  "findAndModify",
  "create",
  "drop",
  "dropDatabase",
  "createIndexes",
  "dropIndexes",
  "commitTransaction",
  "abortTransaction",
]);

export interface Refusal {
  error: CommandError;
  /** Run the command anyway and replace its reply with `error`. */
  applyFirst: boolean;
}

export class Replication {
  readonly setName = "rs0";
  readonly setVersion = 1;
  /** Election term; electionId is derived from it so every election reports a larger one. */
  term = 1;
  /** Bumped by every step-down: writes waiting on a lock at that moment are interrupted. */
  epoch = 0;
  private secondaryUntil = 0;
  private failNext = 0;
  private applyFailed = false;
  /** Called when a step-down happens (aborts open transactions). */
  onStepDown: () => void = () => {};

  get electionId(): ObjectId {
    return new ObjectId("7fffffff" + this.term.toString(16).padStart(16, "0"));
  }

  /** Whether the node is primary now; ends an elapsed step-down window with a new election. */
  isPrimary(now = Date.now()): boolean {
    if (this.secondaryUntil === 0) return true;
    if (now < this.secondaryUntil) return false;
    this.secondaryUntil = 0;
    this.term++;
    return true;
  }

  stepDown(opts: StepDownOptions = {}): StepDownInfo {
    const failNextWrites = Math.max(0, Math.floor(opts.failNextWrites ?? 0));
    const ms = Math.max(0, opts.ms ?? (failNextWrites > 0 ? 0 : 1000));
    const now = Date.now();
    this.isPrimary(now);
    this.epoch++;
    this.failNext = failNextWrites;
    this.applyFailed = opts.writesApplied === true;
    if (ms > 0) this.secondaryUntil = now + ms;
    else this.term++;
    this.onStepDown();
    return {
      until: new Date(now + ms),
      electionId: new ObjectId("7fffffff" + (ms > 0 ? this.term + 1 : this.term).toString(16).padStart(16, "0")),
    };
  }

  /** The error a command gets instead of running (or after running), or null to run it. */
  refuse(name: string, cmd: Doc): Refusal | null {
    const inTxn = cmd.autocommit === false;
    if (!inTxn && !primaryOnly.has(name)) return null;
    const primary = this.isPrimary();
    if (primary && this.failNext === 0) return null;
    let applyFirst = false;
    if (primary) {
      this.failNext--;
      applyFirst = this.applyFailed && !inTxn;
    }
    const labels: string[] = [];
    if (inTxn && name !== "commitTransaction" && name !== "abortTransaction") labels.push(transientLabel);
    else if (inTxn || cmd.txnNumber !== undefined) labels.push(retryableWriteLabel);
    return { error: new CommandError(10107, "not primary", {}, labels), applyFirst };
  }

  /** The error for a write that was waiting when a step-down happened. */
  interrupted(retryable: boolean): CommandError {
    return new CommandError(
      11602,
      "Operation was interrupted because the node stepped down",
      {},
      retryable ? [retryableWriteLabel] : [],
    );
  }
}
