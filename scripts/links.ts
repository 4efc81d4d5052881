// Link integrity CLI: npm run links -- check [--json] [--limit N]
//                     npm run links -- link --customer C --user U [--dry-run] [--json]
//                     npm run links -- unlink --customer C [--user U] [--dry-run] [--json]
// Exit codes: 0 ok (check: no defects; warnings allowed), 1 check found defects, 2 link/unlink
// refused (nothing written), 3 could not run (bad arguments, unreachable database, error).

import { parseArgs } from "node:util";
import { MongoClient } from "mongodb";
import { DEFAULT_DB_NAME, DEFAULT_MONGODB_URI } from "../src/config.ts";
import { opsDatabase, redactUri } from "./lib/settings.ts";
import { checkLinks, DEFAULT_LIST_LIMIT, formatCheck } from "./links/check.ts";
import { type EditResult, LinkRefusedError, linkCustomer, unlinkCustomer } from "./links/edit.ts";

const USAGE = `usage: npm run links -- <check|link|unlink> [options]

  check                              read-only integrity report of users ⇄ customers_v2 links
  link --customer C --user U         link a customer and a customer-role user both ways
  unlink --customer C [--user U]     remove the customer's links on both sides (every claim, or U's only)

options:
  --dry-run        link/unlink: say what would change; write nothing
  --json           print one JSON report on stdout
  --limit N        check: entries listed per kind (default ${DEFAULT_LIST_LIMIT}; counts are always exact)

exit codes: 0 ok, 1 check found defects, 2 refused (nothing written), 3 could not run
environment: MONGODB_URI (default ${DEFAULT_MONGODB_URI}), DB_NAME (default ${DEFAULT_DB_NAME}),
  MONGODB_SERVER_SELECTION_TIMEOUT_MS (default 5000), USER (recorded as the operator in link_audit)`;

class UsageError extends Error {}

function formatEdit(r: EditResult): string {
  const side = (s: EditResult["before"]) =>
    `customer.user_id=${s.customer_user_id ?? "unset"}${s.users.map((u) => `, user ${u.id}.customer_v2_id=${u.customer_v2_id ?? "unset"}`).join("")}`;
  return [r.message, `  before: ${side(r.before)}`, `  after:  ${side(r.after)}`].join("\n");
}

async function main(): Promise<number> {
  // biome-ignore lint/suspicious/noImplicitAnyLet: typed by parseArgs's overloads at the assignment below
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        customer: { type: "string" },
        user: { type: "string" },
        "dry-run": { type: "boolean" },
        json: { type: "boolean" },
        limit: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    return 3;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = positionals[0];
  try {
    if (positionals.length !== 1 || (command !== "check" && command !== "link" && command !== "unlink")) {
      throw new UsageError(`expected one command (check, link or unlink), got ${JSON.stringify(positionals)}`);
    }
    if (command === "check" && (values.customer !== undefined || values.user !== undefined || values["dry-run"]))
      throw new UsageError("check takes only --json and --limit");
    if (command !== "check" && !values.customer) throw new UsageError(`${command} needs --customer <id>`);
    if (command === "link" && !values.user) throw new UsageError("link needs --user <id>");
    if (command !== "check" && values.limit !== undefined) throw new UsageError("--limit only applies to check");
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
      throw new UsageError(`--limit must be a non-negative integer, got ${JSON.stringify(values.limit)}`);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    return 3;
  }

  const { uri, dbName } = opsDatabase();
  const timeoutMs = Number(process.env.MONGODB_SERVER_SELECTION_TIMEOUT_MS) || 5_000;
  process.stderr.write(`${command}${values["dry-run"] ? " (dry run)" : ""}: database "${dbName}" at ${redactUri(uri)}\n`);
  let client: MongoClient | null = null;
  try {
    client = new MongoClient(uri, {
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
      appName: "earlybird-links",
    });
    await client.connect();
    const db = client.db(dbName);
    if (command === "check") {
      const report = await checkLinks(db, values.limit === undefined ? {} : { limit: Number(values.limit) });
      process.stdout.write(`${values.json ? JSON.stringify(report, null, 2) : formatCheck(report)}\n`);
      return report.clean ? 0 : 1;
    }
    const options = {
      customerId: values.customer!,
      ...(values.user !== undefined && { userId: values.user }),
      dryRun: values["dry-run"] === true,
    };
    const result = command === "link" ? await linkCustomer(db, options) : await unlinkCustomer(db, options);
    process.stdout.write(`${values.json ? JSON.stringify({ outcome: "ok", ...result }, null, 2) : formatEdit(result)}\n`);
    return 0;
  } catch (err) {
    const refused = err instanceof LinkRefusedError;
    const message = err instanceof Error ? err.message : String(err);
    if (values.json) process.stdout.write(`${JSON.stringify({ outcome: refused ? "refused" : "failed", message }, null, 2)}\n`);
    process.stderr.write(`${refused ? "refused" : "error"}: ${message}\n`);
    return refused ? 2 : 3;
  } finally {
    await client?.close().catch(() => {});
  }
}

process.exitCode = await main();
