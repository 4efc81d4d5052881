// Linking and unlinking one customer by hand, for a person resolving what the back-fill and
// `links check` report. The same eligibility as the back-fill: only a customer-role user, only
// when both sides are free or already point at each other and nobody else claims either side.
// Each change is one transaction of conditional updates plus an audit record in `link_audit`.
import type { ClientSession, Db, Document } from "mongodb";
import { withTransaction } from "../../src/db/transaction.ts";

export const AUDIT_COLLECTION = "link_audit";
const SHOWN = 20;

/** The change was refused; nothing was written (exit code 2). */
export class LinkRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LinkRefusedError";
  }
}

export interface EditOptions {
  customerId: string;
  /** link: the user to link; unlink: only this user's claim (default: every claim on the customer). */
  userId?: string;
  dryRun?: boolean;
  /** Who did it, for the audit record (default: $USER). */
  operator?: string;
}

export interface EditResult {
  action: "link" | "unlink";
  dry_run: boolean;
  /** False when there was nothing to do (unlink of a customer nobody links). */
  changed: boolean;
  customer_id: string;
  user_ids: string[];
  before: LinkState;
  after: LinkState;
  message: string;
  audit_id?: unknown;
}

/** The link fields involved, as they were / will be (null: unset). */
export interface LinkState {
  customer_user_id: string | null;
  users: { id: string; customer_v2_id: string | null }[];
}

const customers = (db: Db) => db.collection("customers_v2");
const users = (db: Db) => db.collection("users");
const orNull = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
const list = (ids: readonly string[]) =>
  ids.slice(0, SHOWN).join(", ") + (ids.length > SHOWN ? ` and ${ids.length - SHOWN} more` : "");

function operatorOf(options: EditOptions): string {
  return options.operator ?? process.env.USER ?? process.env.USERNAME ?? "unknown";
}

async function ids(db: Db, collection: string, filter: Document, session?: ClientSession): Promise<string[]> {
  const docs = await db
    .collection(collection)
    .find(filter, { projection: { _id: 0, id: 1 }, sort: { id: 1 }, limit: 1000, ...(session && { session }) })
    .toArray();
  return docs.map((d) => String(d.id));
}

async function audit(
  db: Db,
  session: ClientSession,
  result: Omit<EditResult, "message" | "audit_id">,
  operator: string,
): Promise<unknown> {
  const res = await db.collection(AUDIT_COLLECTION).insertOne(
    {
      at: new Date(),
      action: result.action,
      customer_id: result.customer_id,
      user_ids: result.user_ids,
      before: result.before,
      after: result.after,
      operator,
    },
    { session },
  );
  return res.insertedId;
}

/** Decides a link from the current state; throws LinkRefusedError when the rules forbid it. */
async function planLink(db: Db, customerId: string, userId: string, session?: ClientSession) {
  const s = session ? { session } : {};
  const customer = await customers(db).findOne({ id: customerId }, { projection: { _id: 0, id: 1, user_id: 1 }, ...s });
  const user = await users(db).findOne({ id: userId }, { projection: { _id: 0, id: 1, role: 1, customer_v2_id: 1 }, ...s });
  if (customer === null) throw new LinkRefusedError(`no customer with id ${customerId}`);
  if (user === null) throw new LinkRefusedError(`no user with id ${userId}`);
  if (user.role !== "customer")
    throw new LinkRefusedError(`user ${userId} has role ${String(user.role)}: staff users are never linked to a customer`);
  const customerSide = orNull(customer.user_id);
  const userSide = orNull(user.customer_v2_id);
  if (customerSide === userId && userSide === customerId)
    throw new LinkRefusedError(`customer ${customerId} and user ${userId} are already linked to each other`);
  if (customerSide !== null && customerSide !== userId) {
    throw new LinkRefusedError(
      `customer ${customerId} is already linked to user ${customerSide}; unlink it first (npm run links -- unlink --customer ${customerId})`,
    );
  }
  if (userSide !== null && userSide !== customerId) {
    throw new LinkRefusedError(
      `user ${userId} is already linked to customer ${userSide}; unlink that first (npm run links -- unlink --customer ${userSide} --user ${userId})`,
    );
  }
  const otherClaimants = await ids(db, "users", { customer_v2_id: customerId, id: { $ne: userId } }, session);
  if (otherClaimants.length > 0) {
    throw new LinkRefusedError(
      `customer ${customerId} is also claimed by users ${list(otherClaimants)}; unlink those claims first (npm run links -- unlink --customer ${customerId} --user <id>)`,
    );
  }
  const otherNamers = await ids(db, "customers_v2", { user_id: userId, id: { $ne: customerId } }, session);
  if (otherNamers.length > 0) {
    throw new LinkRefusedError(
      `user ${userId} is also named by customers ${list(otherNamers)}; unlink those first (npm run links -- unlink --customer <id>)`,
    );
  }
  const before: LinkState = { customer_user_id: customerSide, users: [{ id: userId, customer_v2_id: userSide }] };
  const after: LinkState = { customer_user_id: userId, users: [{ id: userId, customer_v2_id: customerId }] };
  return { before, after };
}

/** Links customer `customerId` and user `options.userId` both ways (or, with dryRun, says it would). */
export async function linkCustomer(db: Db, options: EditOptions): Promise<EditResult> {
  const { customerId, userId } = options;
  if (userId === undefined) throw new LinkRefusedError("link needs --user");
  const base = { action: "link" as const, customer_id: customerId, user_ids: [userId] };
  if (options.dryRun) {
    const { before, after } = await planLink(db, customerId, userId);
    return {
      ...base,
      dry_run: true,
      changed: true,
      before,
      after,
      message: `dry run: would link customer ${customerId} and user ${userId}; nothing was written`,
    };
  }
  const operator = operatorOf(options);
  return withTransaction(db, async (session) => {
    // Decided again inside the transaction, and each write conditional on what was read.
    const { before, after } = await planLink(db, customerId, userId, session);
    const c = await customers(db).updateOne(
      { id: customerId, user_id: before.customer_user_id === null ? null : userId },
      { $set: { user_id: userId } },
      { session },
    );
    const u = await users(db).updateOne(
      { id: userId, customer_v2_id: before.users[0]!.customer_v2_id === null ? null : customerId },
      { $set: { customer_v2_id: customerId } },
      { session },
    );
    if (c.matchedCount !== 1 || u.matchedCount !== 1)
      throw new LinkRefusedError(`customer ${customerId} or user ${userId} changed meanwhile; nothing was written, try again`);
    const result = { ...base, dry_run: false, changed: true, before, after };
    const auditId = await audit(db, session, result, operator);
    return { ...result, audit_id: auditId, message: `linked customer ${customerId} and user ${userId}` };
  });
}

async function planUnlink(db: Db, customerId: string, userId: string | undefined, session?: ClientSession) {
  const s = session ? { session } : {};
  const customer = await customers(db).findOne({ id: customerId }, { projection: { _id: 0, id: 1, user_id: 1 }, ...s });
  const claimants = (
    await users(db)
      .find(
        { customer_v2_id: customerId, ...(userId !== undefined && { id: userId }) },
        { projection: { _id: 0, id: 1 }, sort: { id: 1 }, ...s },
      )
      .toArray()
  ).map((u) => String(u.id));
  const customerSide = orNull(customer?.user_id);
  const clearCustomer = customerSide !== null && (userId === undefined || customerSide === userId);
  if (customer === null && claimants.length === 0)
    throw new LinkRefusedError(
      `no customer with id ${customerId}${userId !== undefined ? ` claimed by user ${userId}` : ", and no user claims that id"}`,
    );
  if (userId !== undefined && !clearCustomer && claimants.length === 0) {
    throw new LinkRefusedError(
      `customer ${customerId} and user ${userId} do not point at each other in either direction; nothing to unlink`,
    );
  }
  const userIds = [...new Set([...claimants, ...(clearCustomer ? [customerSide] : [])])].sort();
  const before: LinkState = {
    customer_user_id: customerSide,
    users: claimants.map((id) => ({ id, customer_v2_id: customerId })),
  };
  const after: LinkState = {
    customer_user_id: clearCustomer ? null : customerSide,
    users: claimants.map((id) => ({ id, customer_v2_id: null })),
  };
  return { customerExists: customer !== null, clearCustomer, claimants, userIds, before, after };
}

/**
 * Removes the link of customer `customerId` on both sides: its own user_id, and the
 * customer_v2_id of every user claiming it (one-way, half and contested links included), or
 * only those involving `options.userId`. Staff claims can be cleared too: that is how a staff
 * conflict is resolved. A user named by the customer who points elsewhere keeps its own link.
 */
export async function unlinkCustomer(db: Db, options: EditOptions): Promise<EditResult> {
  const { customerId, userId } = options;
  const first = await planUnlink(db, customerId, userId);
  const base = { action: "unlink" as const, customer_id: customerId };
  if (!first.clearCustomer && first.claimants.length === 0) {
    return {
      ...base,
      user_ids: [],
      dry_run: options.dryRun === true,
      changed: false,
      before: first.before,
      after: first.after,
      message: `customer ${customerId} is not linked to anyone; nothing to unlink`,
    };
  }
  if (options.dryRun) {
    return {
      ...base,
      user_ids: first.userIds,
      dry_run: true,
      changed: true,
      before: first.before,
      after: first.after,
      message: `dry run: would unlink customer ${customerId} from ${first.userIds.join(", ")}; nothing was written`,
    };
  }
  const operator = operatorOf(options);
  return withTransaction(db, async (session) => {
    const p = await planUnlink(db, customerId, userId, session);
    if (p.clearCustomer) {
      const c = await customers(db).updateOne(
        { id: customerId, user_id: p.before.customer_user_id },
        { $unset: { user_id: "" } },
        { session },
      );
      if (c.matchedCount !== 1)
        throw new LinkRefusedError(`customer ${customerId} changed meanwhile; nothing was written, try again`);
    }
    if (p.claimants.length > 0) {
      const u = await users(db).updateMany(
        { id: { $in: p.claimants }, customer_v2_id: customerId },
        { $unset: { customer_v2_id: "" } },
        { session },
      );
      if (u.matchedCount !== p.claimants.length)
        throw new LinkRefusedError(`users claiming ${customerId} changed meanwhile; nothing was written, try again`);
    }
    const result = { ...base, user_ids: p.userIds, dry_run: false, changed: true, before: p.before, after: p.after };
    const auditId = await audit(db, session, result, operator);
    return { ...result, audit_id: auditId, message: `unlinked customer ${customerId} from ${p.userIds.join(", ")}` };
  });
}
