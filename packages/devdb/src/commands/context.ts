// What every command handler gets, and helpers shared by the command groups.
import { CommandError } from "../errors.ts";
import type { Connection, ServerState } from "../state.ts";
import type { Collection } from "../store.ts";
import type { OpContext, Session } from "../transactions.ts";
import type { Doc } from "../values.ts";

export interface Ctx {
  state: ServerState;
  db: string;
  cmd: Doc;
  op: OpContext;
  conn: Connection;
  session: Session | null;
}

export type Handler = (x: Ctx) => Doc | Promise<Doc>;

export function collName(x: Ctx): string {
  const name = x.cmd[Object.keys(x.cmd)[0] as string];
  if (typeof name !== "string" || name.length === 0)
    throw new CommandError(73, `collection name has invalid type ${typeof name}`);
  return name;
}

export function existing(x: Ctx): Collection | undefined {
  return x.state.store.collection(x.db, collName(x));
}

export function ensure(x: Ctx): Collection {
  return x.state.store.ensureCollection(x.db, collName(x));
}

export function adminOnly(x: Ctx, name: string): void {
  if (x.db !== "admin") throw new CommandError(13, `${name} may only be run against the admin database.`);
}

export function commandName(cmd: Doc): string {
  return Object.keys(cmd)[0] ?? "";
}
