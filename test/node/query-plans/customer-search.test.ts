// GET /customers at scale: 100k customers in the embedded server, migrated as production is;
// for every kind of search the API can produce (q as a phone or name prefix, area, status,
// linked, their combinations, first page and later pages), `explain` of exactly the query
// `searchCustomers` runs must use an index (no COLLSCAN) and examine a bounded number of
// documents, independent of the collection's size.
import type { Db, Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMigrations } from "../../../scripts/migrate/runner.ts";
import type { CUSTOMER_STATUSES } from "../../../src/db/collections.ts";
import { type CustomerSearch, customerSearchQuery } from "../../../src/db/customers.ts";
import { buildStore, runOperation } from "../../../src/db/store.ts";
import { encodeCursor, type ListCursor, nameSearchKey, phoneSearchKey } from "../../../src/lib/search.ts";
import { type ListQuery, listCustomers } from "../../../src/services/customers/back-office.ts";
import { useEmbeddedServer } from "../../support/embedded-server.ts";

const h = useEmbeddedServer();
const DB_NAME = `plans_${process.pid}`;
const CUSTOMERS = 100_000;
const PAGE = 100; // the largest page the API serves (schema max)
const MIGRATED_TO = "007_customer_search_compound_indexes";

// ---------------------------------------------------------------------------------------
// Deterministic data shaped like production's: skewed statuses, most customers linked,
// unlinked ones with user_id null or absent, names from a small pool (long runs of equal
// name_search keys, the worst case for name-prefix paging), 10-digit Indian mobiles.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(16);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const word = () => ((random() * 0x1_0000_0000) >>> 0).toString(16).padStart(8, "0");
const uuid = () => {
  const h = word() + word() + word() + word();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
};
const weighted = <T>(list: readonly [T, number][]): T => {
  let r = random() * list.reduce((s, [, w]) => s + w, 0);
  for (const [v, w] of list) {
    r -= w;
    if (r < 0) return v;
  }
  return list.at(-1)![0];
};

const FIRST = [
  "Aarav",
  "Aditi",
  "Anil",
  "Anita",
  "Arjun",
  "Deepa",
  "Ganesh",
  "Geeta",
  "Kavya",
  "Kiran",
  "Lakshmi",
  "Manoj",
  "Meena",
  "Nikhil",
  "Pooja",
  "Priya",
  "Rahul",
  "Ramesh",
  "Ravi",
  "Rekha",
  "Sanjay",
  "Shreya",
  "Suresh",
  "Sunita",
  "Vikram",
  "Vinay",
];
const LAST = ["Kumar", "Sharma", "Rao", "Reddy", "Nair", "Iyer", "Gowda", "Shetty", "Patil", "Menon", "Hegde", "Pillai"];
const AREAS = [
  "Indiranagar",
  "Koramangala",
  "Jayanagar",
  "Whitefield",
  "HSR Layout",
  "Malleshwaram",
  "Basavanagudi",
  "Hebbal",
  "BTM Layout",
  "Yelahanka",
  "Marathahalli",
  "Banashankari",
];
const STATUS_WEIGHTS: [(typeof CUSTOMER_STATUSES)[number], number][] = [
  ["active", 70],
  ["trial", 8],
  ["paused", 12],
  ["stopped", 10],
];

function generateCustomers(n: number): Document[] {
  const docs: Document[] = [];
  const phones = new Set<string>();
  for (let i = 0; i < n; i++) {
    let phone: string;
    do phone = `${pick(["6", "7", "8", "9", "9", "9"])}${String(Math.floor(random() * 1e9)).padStart(9, "0")}`;
    while (phones.has(phone));
    phones.add(phone);
    const name = `${pick(FIRST)} ${pick(LAST)}`;
    const doc: Document = {
      id: uuid(),
      name,
      name_search: nameSearchKey(name),
      phone: random() < 0.5 ? phone : `+91 ${phone.slice(0, 5)} ${phone.slice(5)}`,
      phone_search: phoneSearchKey(phone),
      area: pick(AREAS),
      status: weighted(STATUS_WEIGHTS),
      created_at: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
    };
    const link = random();
    if (link < 0.7) doc.user_id = uuid();
    else if (link < 0.85) doc.user_id = null;
    if (random() < 0.3) doc.phone_normalized = phone; // written by this API (unique partial index)
    docs.push(doc);
  }
  return docs;
}

// ---------------------------------------------------------------------------------------
// Every kind of search: q (none, phone prefixes of several lengths and spellings, name
// prefixes) × area × status × linked, each on its first page, its second page and a page
// deep inside the result (cursor taken from the middle of the matching customers).

const Q: (string | undefined)[] = [undefined, "9", "+91 98", "98765 4", "r", "  Ravi   K"];
const AREA_VALUES = [undefined, "Hebbal"];
const STATUS_VALUES = [undefined, "active", "trial"] as const;
const LINKED_VALUES = [undefined, true, false];

let db: Db;
let all: Document[];
/** All customers in each page order (plain listing by id; phone / name search by key then id). */
const inOrder = new Map<"phone_search" | "name_search" | null, Document[]>();
/** The CustomerSearch the service handed to searchCustomers on its last call. */
let captured: CustomerSearch | undefined;

function matches(doc: Document, s: CustomerSearch): boolean {
  if (s.phonePrefix !== undefined && !(typeof doc.phone_search === "string" && doc.phone_search.startsWith(s.phonePrefix)))
    return false;
  if (s.namePrefix !== undefined && !(typeof doc.name_search === "string" && doc.name_search.startsWith(s.namePrefix)))
    return false;
  if (s.area !== undefined && doc.area !== s.area) return false;
  if (s.status !== undefined && doc.status !== s.status) return false;
  if (s.linked === true && typeof doc.user_id !== "string") return false;
  if (s.linked === false && doc.user_id != null) return false;
  return true;
}

const byKey = (field: "phone_search" | "name_search" | null) => (a: Document, b: Document) => {
  if (field !== null && a[field] !== b[field]) return a[field] < b[field] ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
};

function cursorAt(doc: Document, field: "phone_search" | "name_search" | null): ListCursor {
  return field === null ? { i: doc.id } : { k: String(doc[field]), i: doc.id };
}

function stagesOf(plan: Document): string[] {
  const out: string[] = [plan.stage];
  if (plan.inputStage) out.push(...stagesOf(plan.inputStage));
  for (const s of plan.inputStages ?? []) out.push(...stagesOf(s));
  return out;
}

function indexOf(plan: Document): string | undefined {
  if (plan.stage === "IXSCAN") return plan.indexName;
  return plan.inputStage ? indexOf(plan.inputStage) : undefined;
}

interface Figure {
  search: string;
  page: string;
  index: string | undefined;
  matching: number;
  returned: number;
  keys: number;
  docs: number;
}
const figures: Figure[] = [];

beforeAll(async () => {
  const report = await runMigrations({ uri: h.uri, dbName: DB_NAME, command: "up", to: MIGRATED_TO, log: null });
  expect(report.outcome, report.message).toBe("ok");
  db = h.client.db(DB_NAME);
  all = generateCustomers(CUSTOMERS);
  const customers = db.collection("customers_v2");
  for (let i = 0; i < all.length; i += 5000)
    await customers.insertMany(
      all.slice(i, i + 5000).map((d) => ({ ...d })),
      { ordered: false },
    );
  expect(await customers.estimatedDocumentCount()).toBe(CUSTOMERS);
  for (const field of [null, "phone_search", "name_search"] as const) inOrder.set(field, [...all].sort(byKey(field)));
}, 120_000);

afterAll(() => {
  if (figures.length === 0) return;
  const lines = figures.map(
    (f) =>
      `${f.search.padEnd(58)} ${f.page.padEnd(6)} ${String(f.index).padEnd(32)} match=${String(f.matching).padStart(6)} ret=${String(f.returned).padStart(3)} keys=${String(f.keys).padStart(5)} docs=${String(f.docs).padStart(5)}`,
  );
  console.log(`customer search plans at ${CUSTOMERS} customers (page size ${PAGE}):\n${lines.join("\n")}`);
});

describe(`GET /customers query plans at ${CUSTOMERS} customers`, () => {
  it("every filter the API produces is served by an index and examines a bounded number of documents", async () => {
    const store = buildStore(async (name, args) => {
      if (name === "searchCustomers") captured = args[0] as CustomerSearch;
      return runOperation(db, name, args);
    });
    const failures: string[] = [];
    let explained = 0;
    for (const q of Q)
      for (const area of AREA_VALUES)
        for (const status of STATUS_VALUES)
          for (const linked of LINKED_VALUES) {
            const base: ListQuery = {
              limit: PAGE,
              ...(q !== undefined && { q }),
              ...(area !== undefined && { area }),
              ...(status !== undefined && { status }),
              ...(linked !== undefined && { linked }),
            };
            const label = JSON.stringify({ q, area, status, linked }).replace(/"/g, "");
            // First page through the service: the real searchCustomers on the real data, capturing
            // the search it was given.
            captured = undefined;
            const first = await listCustomers({ store }, base);
            const search = captured as CustomerSearch | undefined;
            expect(search, label).toBeDefined();
            const { field } = customerSearchQuery(search!);
            const expected = inOrder.get(field)!.filter((d) => matches(d, search!));
            expect(
              first.items.map((c) => c.id),
              label,
            ).toEqual(expected.slice(0, PAGE).map((d) => d.id));

            const pages: [string, ListQuery][] = [["first", base]];
            const firstSearch = search!;
            if (first.next_cursor !== null) pages.push(["second", { ...base, cursor: first.next_cursor }]);
            if (expected.length > 4 * PAGE)
              pages.push([
                "middle",
                { ...base, cursor: encodeCursor(cursorAt(expected[Math.floor(expected.length / 2)]!, field)) },
              ]);
            for (const [page, query] of pages) {
              captured = undefined;
              if (page !== "first") await listCustomers({ store }, query);
              const run = customerSearchQuery(page === "first" ? firstSearch : captured!);
              const explain = await db
                .collection("customers_v2")
                .find(run.filter as Document, { sort: run.sort, limit: run.limit, projection: { _id: 0 } })
                .explain("executionStats");
              explained++;
              const plan = explain.queryPlanner.winningPlan as Document;
              const stats = explain.executionStats as Document;
              const stages = stagesOf(plan);
              const figure: Figure = {
                search: label,
                page,
                index: indexOf(plan),
                matching: expected.length,
                returned: stats.nReturned,
                keys: stats.totalKeysExamined,
                docs: stats.totalDocsExamined,
              };
              figures.push(figure);
              // The explained query is the one that ran: same number of documents.
              const start = page === "first" ? 0 : page === "second" ? PAGE : Math.floor(expected.length / 2) + 1;
              expect(figure.returned, `${label} ${page}`).toBe(Math.min(run.limit, Math.max(0, expected.length - start)));
              if (stages.includes("COLLSCAN")) failures.push(`${label} ${page}: COLLSCAN`);
              else if (figure.docs > DOCS_BOUND)
                failures.push(`${label} ${page}: ${figure.docs} documents examined via ${figure.index}`);
            }
          }
    expect(explained).toBeGreaterThan(Q.length * AREA_VALUES.length * STATUS_VALUES.length * LINKED_VALUES.length);
    expect(failures).toEqual([]);
  }, 120_000);
});

/**
 * The most documents one page may examine: a small multiple of the page (the least selective
 * filter left to FETCH, trial ≈ 8% of customers, examines about 12 documents per match), far
 * below the collection (100k) and below what any single filter field matches alone.
 */
const DOCS_BOUND = 2_000;
