// Property-based fuzzing of every route the app registers (discovered from the app, so routes
// added later are attacked without edits): generated bad requests, with no token, a valid staff
// token (so validation behind auth is reached) or a customer's. Required: no 5xx, every 4xx in
// the error envelope, no secret in any response or log line, and no document of users,
// customers_v2 or subscriptions_v2 changed by a request that was refused.
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../worker/support/db.ts";
import { tokenFor } from "../worker/support/http.ts";
import { registerSecret } from "../worker/support/secrets.ts";
import { captureQuietly, secretIn, secretsInLogs } from "./support/capture.ts";
import { discoverOperations, encode, fillPath, type Operation } from "./support/routes.ts";
import { compare, keysOwnedBy, snapshot } from "./support/snapshot.ts";

const FULL = (env as { RELIABILITY_MODE?: string }).RELIABILITY_MODE === "full";
const RUNS = FULL ? 5_000 : 1_000;
const SEED = Number((env as { RELIABILITY_SEED?: string }).RELIABILITY_SEED ?? 20_261_207);
const PARALLEL = 4;

type Auth = "none" | "staff" | "customer" | "garbage";
interface FuzzRequest {
  category: string;
  op: Operation;
  auth: Auth;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Extra Authorization header value (authorization category). */
  authorization?: string;
}

interface Outcome {
  status: number;
  problem: string | null;
  secret: string | null;
  /** The body of an accepted (2xx) answer. */
  accepted?: string;
}

captureQuietly();

let operations: Operation[];
const tokens: Record<"staff" | "customer", string> = { staff: "", customer: "" };

beforeAll(async () => {
  operations = await discoverOperations();
  const staff = await createUser({ role: "admin" });
  const customer = await createUser({ role: "customer" });
  tokens.staff = await tokenFor(staff);
  tokens.customer = await tokenFor(customer);
});

// ---------------------------------------------------------------- generators

const junkStrings = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "null",
    "undefined",
    "NaN",
    "-1",
    "1e309",
    "0x10",
    "true",
    "[]",
    "{}",
    "\u0000",
    "\uFEFF",
    "\uD800",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection payload, sent as text on purpose
    "${jndi:ldap://x}",
    "__proto__",
    "constructor",
  ),
);

const wrongTypeValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.string({ maxLength: 20 }),
);

const operatorValue = fc.constantFrom<unknown>(
  { $ne: null },
  { $gt: "" },
  { $regex: ".*" },
  { $where: "sleep(1000) || true" },
  { $exists: true },
  { $in: ["admin", "customer"] },
  { $expr: { $eq: [1, 1] } },
  ["$ne", null],
  { $set: { role: "admin" } },
);

const contentTypes = fc.oneof(
  fc.constantFrom(
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=zz",
    "application/xml",
    "application/json5",
    "text/json",
    "application/jsonx",
    "*/*",
    "",
    "application/json; charset",
  ),
  fc.stringMatching(/^[a-z]{1,10}\/[a-z0-9.+-]{1,12}$/),
);

const authorizationValues = fc.oneof(
  fc.constantFrom(
    "Bearer",
    "Bearer ",
    "Bearer  ",
    "bearer",
    "Basic dXNlcjpwYXNz",
    "Token abc",
    "Bearer a.b",
    "Bearer a.b.c",
    "Bearer ...",
    "Bearer eyJ",
    "Bearer null",
    "Bearer undefined",
    "Bearer =====",
    "Bearer a b c",
    `Bearer ${"A".repeat(9_000)}`,
  ),
  fc.stringMatching(/^[\x21-\x7e]{0,60}$/).map((s) => `Bearer ${s}`),
  fc.stringMatching(/^[\x20-\x7e]{0,80}$/),
);

function pick<T>(values: T[]): fc.Arbitrary<T> {
  return fc.constantFrom(...values);
}

function bodyKeys(op: Operation, example: Record<string, unknown>): string[] {
  const keys = [...new Set([...op.properties, ...Object.keys(example)])];
  return keys.length > 0 ? keys : ["email", "password", "name", "phone"];
}

/** A documented example with one field replaced (or added). */
function withField(op: Operation, value: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return pick(op.examples).chain((example) =>
    fc.tuple(pick(bodyKeys(op, example)), value).map(([key, v]) => ({ ...example, [key]: v })),
  );
}

function deepJson(depth: number, kind: "array" | "object"): string {
  return kind === "array" ? `${"[".repeat(depth)}1${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

const encoder = new TextEncoder();

/** One category: how it turns an operation into a request. */
interface Category {
  name: string;
  applies: (op: Operation) => boolean;
  make: (op: Operation) => fc.Arbitrary<Omit<FuzzRequest, "op" | "category" | "auth" | "path"> & { path?: string }>;
}

const json = (value: unknown) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(value) });

/**
 * The body sent along with junk headers, paths or Authorization values: the documented example
 * behind bearer auth (so the junk meets a request that would otherwise proceed), `{}` on public
 * routes (their example is a full login: a bcrypt verification per request, which would make
 * the run slow without testing anything the junk reaches).
 */
const carrierBody = (op: Operation, example: Record<string, unknown>) =>
  op.method === "GET" ? { headers: {} } : json(op.bearer ? example : {});

const CATEGORIES: Category[] = [
  { name: "wrong types", applies: (op) => op.hasBody, make: (op) => withField(op, wrongTypeValue).map(json) },
  {
    name: "missing fields",
    applies: (op) => op.hasBody,
    make: (op) =>
      pick(op.examples).chain((example) => {
        const keys = op.required.length > 0 ? op.required : bodyKeys(op, example);
        return fc
          .subarray(keys, { minLength: 1 })
          .map((drop) => json(Object.fromEntries(Object.entries(example).filter(([k]) => !drop.includes(k)))));
      }),
  },
  {
    name: "extra fields",
    applies: (op) => op.hasBody,
    make: (op) =>
      fc
        .tuple(
          pick(op.examples),
          fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 4 }),
        )
        .map(([example, extra]) => json({ ...example, ...extra, [`x_${Object.keys(extra).length}`]: true })),
  },
  {
    name: "huge strings",
    applies: (op) => op.hasBody,
    make: (op) =>
      withField(
        op,
        fc.constantFrom(300, 2_000, 20_000, 65_000, 70_000, 300_000).map((n) => "é".repeat(Math.floor(n / 2))),
      ).map(json),
  },
  {
    name: "deep JSON",
    applies: (op) => op.hasBody,
    make: (op) =>
      fc
        .tuple(
          pick(op.examples),
          fc.constantFrom(64, 500, 5_000, 15_000),
          fc.constantFrom<"array" | "object">("array", "object"),
          fc.boolean(),
        )
        .map(([example, depth, kind, whole]) => {
          const deep = deepJson(depth, kind);
          const key = bodyKeys(op, example)[0]!;
          const body = whole ? deep : JSON.stringify({ ...example, [key]: 0 }).replace(`"${key}":0`, `"${key}":${deep}`);
          return { headers: { "content-type": "application/json" }, body };
        }),
  },
  {
    name: "invalid UTF-8",
    applies: (op) => op.hasBody,
    make: (op) =>
      fc
        .tuple(
          pick(op.examples),
          fc.constantFrom(
            [0xff],
            [0xfe, 0xff],
            [0xc3, 0x28],
            [0xe2, 0x28, 0xa1],
            [0xed, 0xa0, 0x80],
            [0xf8, 0x88, 0x80, 0x80, 0x80],
            [0xc0, 0xaf],
          ),
          fc.nat(),
        )
        .map(([example, bad, at]) => {
          const text = encoder.encode(JSON.stringify(example));
          // Inside the first string value when there is one, else anywhere.
          const quote = text.indexOf(0x22, text.indexOf(0x3a) + 1);
          const pos = quote > 0 ? quote + 1 : at % (text.length + 1);
          const bytes = new Uint8Array([...text.subarray(0, pos), ...bad, ...text.subarray(pos)]);
          return { headers: { "content-type": "application/json" }, body: bytes };
        }),
  },
  {
    name: "wrong content type",
    applies: (op) => op.hasBody,
    make: (op) =>
      fc.tuple(pick(op.examples), contentTypes).map(([example, type]) => ({
        headers: type ? { "content-type": type } : ({} as Record<string, string>),
        body: JSON.stringify(example),
      })),
  },
  {
    name: "malformed JSON",
    applies: (op) => op.method !== "GET",
    make: () =>
      fc
        .oneof(
          fc.string({ maxLength: 60 }),
          fc.constantFrom("{", "}", '{"a":}', "{'a':1}", '{"a":1,}', "[1,2", "nul", "NaN", '{"a":1}{"b":2}', "\u0000"),
        )
        .filter((s) => {
          try {
            JSON.parse(s);
            return false;
          } catch {
            return true;
          }
        })
        .map((body) => ({ headers: { "content-type": "application/json" }, body })),
  },
  { name: "random JSON bodies", applies: (op) => op.method !== "GET", make: () => fc.jsonValue({ maxDepth: 4 }).map(json) },
  {
    name: "operator payloads",
    applies: (op) => op.hasBody,
    make: (op) =>
      fc.oneof(
        withField(op, operatorValue).map(json),
        pick(op.examples).map((example) => json(Object.fromEntries(bodyKeys(op, example).map((k) => [k, { $ne: null }])))),
        pick(op.examples).map((example) => ({
          headers: { "content-type": "application/json" },
          body: JSON.stringify(example).replace(
            /^\{/,
            '{"__proto__":{"role":"admin","is_admin":true},"constructor":{"prototype":{"x":1}},"$set":{"role":"admin"},',
          ),
        })),
      ),
  },
  {
    name: "malformed Authorization",
    applies: () => true,
    make: (op) =>
      fc
        .tuple(pick(op.examples), authorizationValues)
        .map(([example, authorization]) => ({ ...carrierBody(op, example), authorization })),
  },
  {
    name: "junk path and query",
    applies: () => true,
    make: (op) =>
      fc
        .tuple(pick(op.examples), junkStrings, fc.constantFrom("param", "raw", "query", "suffix"))
        .map(([example, junk, where]) => {
          const params = Object.fromEntries(op.pathParams.map((p) => [p, junk]));
          const rawJunk =
            where === "raw" ? ["%", "%ff", "%00", "%2e%2e%2f", "..%2F..", "%E0%A4%A", "{id}", "%u0041"][junk.length % 8]! : junk;
          let path =
            op.pathParams.length > 0 && (where === "param" || where === "raw")
              ? fillPath(
                  op.path,
                  where === "raw" ? Object.fromEntries(op.pathParams.map((p) => [p, rawJunk])) : params,
                  where === "raw",
                )
              : fillPath(op.path, {});
          if (where === "query" || op.pathParams.length === 0)
            path += `?${encode(junk)}=${encode(junk)}&email[$ne]=x&id=${encode(junk)}`;
          if (where === "suffix") path += `/${encode(junk) || "x"}`;
          return { ...carrierBody(op, example), path };
        }),
  },
  {
    name: "junk headers",
    applies: (op) => op.headerParams.length > 0 || op.method !== "GET",
    make: (op) =>
      fc.tuple(pick(op.examples), fc.stringMatching(/^[\x20-\x7e]{0,300}$/)).map(([example, junk]) => {
        const carrier = carrierBody(op, example);
        const headers: Record<string, string> = {
          ...carrier.headers,
          "x-request-id": junk,
          "x-forwarded-for": junk,
          "cf-connecting-ip": junk,
        };
        for (const name of op.headerParams) headers[name] = junk;
        return { headers, body: "body" in carrier ? carrier.body : undefined };
      }),
  },
];

function fuzzRequest(): fc.Arbitrary<FuzzRequest> {
  const pairs = CATEGORIES.flatMap((category) => operations.filter(category.applies).map((op) => ({ category, op })));
  return fc
    .tuple(pick(pairs), fc.constantFrom<Auth>("staff", "staff", "staff", "staff", "customer", "none", "garbage"))
    .chain(([{ category, op }, auth]) =>
      category.make(op).map((parts) => ({
        category: category.name,
        op,
        auth: op.bearer ? auth : auth === "garbage" ? "garbage" : "none",
        path: parts.path ?? fillPath(op.path, {}),
        headers: parts.headers,
        body: parts.body,
        authorization: parts.authorization,
      })),
    );
}

// ---------------------------------------------------------------- sending and judging

const ENVELOPE_CODE = /^[a-z][a-z0-9_]*$/;

async function send(request: FuzzRequest): Promise<Outcome> {
  const headers = new Headers(request.headers);
  if (request.auth === "staff" || request.auth === "customer") headers.set("authorization", `Bearer ${tokens[request.auth]}`);
  if (request.auth === "garbage") headers.set("authorization", "Bearer x.y.z");
  if (request.authorization !== undefined) headers.set("authorization", request.authorization);
  // Stay within what a client can send: a body only with methods that carry one.
  const body = request.op.method === "GET" || request.op.method === "HEAD" ? undefined : request.body;
  const res = await exports.default.fetch(`http://api.test${request.path}`, { method: request.op.method, headers, body });
  const text = await res.text();
  const isLogin = request.op.path.endsWith("/login") || request.op.path.endsWith("/change-password");
  const secret = secretIn(text, !(isLogin && res.status === 200));
  if (res.status >= 500) return { status: res.status, problem: `5xx: ${text.slice(0, 200)}`, secret };
  if (res.status >= 400) {
    let parsed: { error?: { code?: unknown; message?: unknown } } | null = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // judged below
    }
    const code = parsed?.error?.code;
    if (typeof code !== "string" || !ENVELOPE_CODE.test(code) || typeof parsed?.error?.message !== "string") {
      return { status: res.status, problem: `no error envelope: ${text.slice(0, 200)}`, secret };
    }
    if (!(res.headers.get("content-type") ?? "").startsWith("application/json")) {
      return { status: res.status, problem: "error envelope not labelled application/json", secret };
    }
  }
  return { status: res.status, problem: null, secret, ...(res.status < 300 ? { accepted: text } : {}) };
}

function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? "" : typeof r.body === "string" ? r.body.slice(0, 160) : `<${r.body.length} bytes>`;
  return `[${r.category}] ${r.op.method} ${r.path.slice(0, 120)} auth=${r.auth} ${JSON.stringify(r.headers).slice(0, 120)} ${body}`;
}

/** Collects ids from an accepted (2xx) body: documents it made or touched are not "changed by a refused request". */
function collectIds(text: string, into: Set<string>): void {
  for (const match of text.matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi)) into.add(match[0]);
}

describe("fuzzing every route", () => {
  it(`${RUNS} generated bad requests: no 5xx, the envelope on every 4xx, no secret, no document changed`, async ({ task }) => {
    expect(operations.length).toBeGreaterThanOrEqual(6);
    expect(operations.filter((o) => o.bearer).length).toBeGreaterThan(0);
    expect(operations.filter((o) => o.hasBody).length).toBeGreaterThan(0);
    const requests = fc.sample(fuzzRequest(), { seed: SEED, numRuns: RUNS });

    const before = await snapshot();
    const stats = new Map<
      string,
      {
        tried: number;
        passed: number;
        serverErrors: number;
        secrets: number;
        accepted: number;
        statuses: Map<number, number>;
        ms: number;
      }
    >();
    const failures: string[] = [];
    const acceptedIds = new Set<string>();
    let next = 0;
    const started = Date.now();
    const worker = async () => {
      while (next < requests.length) {
        const request = requests[next++]!;
        const row = stats.get(request.category) ?? {
          tried: 0,
          passed: 0,
          serverErrors: 0,
          secrets: 0,
          accepted: 0,
          statuses: new Map(),
          ms: 0,
        };
        stats.set(request.category, row);
        row.tried++;
        let outcome: Outcome;
        const t0 = Date.now();
        try {
          outcome = await send(request);
        } catch (err) {
          outcome = { status: 0, problem: `request failed: ${(err as Error).message}`, secret: null };
        }
        row.ms += Date.now() - t0;
        row.statuses.set(outcome.status, (row.statuses.get(outcome.status) ?? 0) + 1);
        if (outcome.status >= 500) row.serverErrors++;
        if (outcome.secret) row.secrets++;
        if (outcome.accepted !== undefined) {
          row.accepted++;
          collectIds(outcome.accepted, acceptedIds);
          const initial = /"initial_password":"([^"]+)"/.exec(outcome.accepted);
          if (initial) registerSecret(initial[1]!); // shown once; never again, nor in a log line
        }
        if (outcome.problem === null && outcome.secret === null) row.passed++;
        else failures.push(`${outcome.problem ?? `secret: ${outcome.secret}`} ← ${describeRequest(request)}`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const seconds = (Date.now() - started) / 1000;

    // Documents made or touched by accepted requests (e.g. a body valid despite the mutation) are theirs.
    const after = await snapshot();
    const diff = compare(before, after);
    const owned = await keysOwnedBy(acceptedIds);
    const changed = [...diff.added, ...diff.removed, ...diff.changed].filter((key) => !owned.has(key));
    const logSecrets = secretsInLogs();

    const rows = [...stats.entries()].sort(([a], [b]) => a.localeCompare(b));
    task.meta.reliability = rows.map(([category, row]) => ({
      category: `fuzz: ${category}`,
      tried: row.tried,
      passed: row.passed,
      serverErrors: row.serverErrors,
      documents: 0,
      secrets: row.secrets,
      note: `${[...row.statuses.entries()]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(" ")}; ${Math.round(row.ms / row.tried)} ms/request`,
    }));
    task.meta.reliability.push({
      category: "fuzz: documents and logs",
      tried: before.size,
      passed: before.size - changed.length,
      serverErrors: 0,
      documents: changed.length,
      secrets: logSecrets.length,
      note: `${RUNS} requests in ${seconds.toFixed(1)} s, ${operations.length} operations, seed ${SEED}`,
    });

    expect(failures.slice(0, 10), `${failures.length} of ${RUNS} requests misbehaved`).toEqual([]);
    expect(changed, "documents changed by refused requests").toEqual([]);
    expect(logSecrets).toEqual([]);
  });
});
