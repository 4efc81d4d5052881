// `npm run links -- check` (its check, scripts/links/check.ts, run in-process against the
// reliability database) restricted to the documents a test made: the legacy fixture has
// planted link defects of its own, which are not the suite's.
import type { Document } from "mongodb";
import { checkLinks, type FindingKind } from "../../../scripts/links/check.ts";
import type { CustomerDoc } from "../../../src/db/collections.ts";
import { withDb } from "../../worker/support/db.ts";

export interface LinkProblem {
  kind: FindingKind;
  entry: Document;
}

/** Every finding of the link check (errors and warnings) that names one of `customerIds` or their users. */
export async function linkFindingsFor(customerIds: Iterable<string>): Promise<{ problems: LinkProblem[]; checkedIds: number }> {
  return withDb(async (db) => {
    const ids = new Set<string>(customerIds);
    const customers = await db
      .collection<CustomerDoc>("customers_v2")
      .find({ id: { $in: [...ids] } }, { projection: { _id: 0, user_id: 1 } })
      .toArray();
    for (const c of customers) if (typeof c.user_id === "string") ids.add(c.user_id);
    const report = await checkLinks(db, { limit: 1_000_000 });
    const problems: LinkProblem[] = [];
    for (const [kind, finding] of Object.entries(report.findings) as [FindingKind, (typeof report.findings)[FindingKind]][]) {
      for (const entry of finding.entries) {
        const named = [
          entry.customer_id,
          entry.user_id,
          entry.user_points_to,
          entry.customer_points_to,
          ...((entry.user_ids as unknown[]) ?? []),
          ...((entry.customer_ids as unknown[]) ?? []),
        ];
        if (named.some((v) => typeof v === "string" && ids.has(v))) problems.push({ kind, entry });
      }
    }
    return { problems, checkedIds: ids.size };
  });
}
