// Generates a large legacy-shaped data set (users + customers_v2) covering every link-back-fill
// case, deterministically from a seed, for rehearsing migration 002 and for its tests.
//   MONGODB_URI=… DB_NAME=… npm exec -- node scripts/generate-legacy-data.ts --customers 20000 [--seed 1] [--drop]
import { type Db, type Document, ObjectId } from "mongodb";
import { customerLoginEmail } from "../src/db/collections.ts";
import type { Reason } from "./migrate/link-plan.ts";

export interface GeneratedData {
  users: Document[];
  customers: Document[];
  /** The outcome each case was built to produce, keyed by customer id (user-side dangling: the missing id). */
  intended: Map<string, Reason>;
}

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

const SPELLINGS: ((n: string) => string)[] = [
  (n) => n,
  (n) => `+91${n}`,
  (n) => `0${n}`,
  (n) => `${n.slice(0, 5)} ${n.slice(5)}`,
  (n) => `+91-${n.slice(0, 5)}-${n.slice(5)}`,
  (n) => `+91 ${n.slice(0, 5)} ${n.slice(5)}`,
  (n) => `91${n}`,
  (n) => `(+91) ${n.slice(0, 5)}-${n.slice(5)}`,
];
const INVALID_PHONES = ["12345", "5876543210", "98765432", "+1-415-555-0100"];
const STAFF_ROLES = ["delivery_boy", "marketing_staff", "supplier", "admin"];
const AREAS = ["Indiranagar", "Koramangala", "Jayanagar", "Whitefield", "HSR Layout", "Malleshwaram", "Basavanagudi", "Hebbal"];

type Case = [weight: number, build: () => void];

export function generateLegacyData(options: { customers: number; seed?: number }): GeneratedData {
  const random = mulberry32(options.seed ?? 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join("");
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(["8", "9", "a", "b"])}${hex(3)}-${hex(12)}`;
  let clock = 1_700_000_000;
  const objectId = () => new ObjectId((clock++).toString(16).padStart(8, "0") + hex(16));
  let phoneSeq = 0;
  const newPhone = () => {
    phoneSeq++;
    return `${6 + (phoneSeq % 4)}${String(phoneSeq).padStart(9, "0")}`;
  };
  const spell = (n: string) => pick(SPELLINGS)(n);
  let userSeq = 0;

  const users: Document[] = [];
  const customers: Document[] = [];
  const intended = new Map<string, Reason>();

  const user = (fields: Document = {}): Document => {
    userSeq++;
    const doc: Document = {
      _id: objectId(),
      id: uuid(),
      email: `user${userSeq}.${hex(4)}@example.com`,
      name: `User ${userSeq}`,
      role: "customer",
      is_active: random() > 0.05,
      password_hash: hex(64),
      created_at: new Date(Date.UTC(2024, 0, 1) + userSeq * 60_000).toISOString().slice(0, 19),
      ...fields,
    };
    if (!("phone" in fields) && random() < 0.7) doc.phone = spell(newPhone());
    users.push(doc);
    return doc;
  };
  const customer = (reason: Reason, fields: Document = {}): Document => {
    const doc: Document = {
      _id: objectId(),
      id: uuid(),
      name: `Customer ${customers.length + 1}`,
      phone: newPhone(),
      address: `${Math.floor(random() * 900) + 1}, ${pick(AREAS)}`,
      area: pick(AREAS),
      status: pick(["trial", "active", "paused", "stopped"]),
      created_at: new Date(Date.UTC(2024, 0, 1) + customers.length * 90_000).toISOString().slice(0, 19),
      ...fields,
    };
    // Legacy documents leave the link field absent, or hold an explicit null.
    if (!("user_id" in fields) && random() < 0.2) doc.user_id = null;
    customers.push(doc);
    intended.set(doc.id, reason);
    return doc;
  };

  const cases: Case[] = [
    [
      25,
      () => {
        const c = customer("phone");
        user({ phone: spell(c.phone) });
      },
    ],
    [
      15,
      () => {
        const c = customer("email_pattern");
        const email = customerLoginEmail(c.id);
        user({
          email: pick([email, email.toUpperCase(), `Customer-${c.id}@EarlyBird.local`]),
          phone: random() < 0.5 ? spell(c.phone) : newPhone(),
        });
      },
    ],
    [
      10,
      () => {
        const u = user();
        const c = customer("already_linked", { user_id: u.id });
        u.customer_v2_id = c.id;
      },
    ],
    [
      5,
      () => {
        const u = user({ phone: null });
        const c = customer("repair_half_link", random() < 0.5 ? {} : { user_id: null });
        u.customer_v2_id = c.id;
      },
    ],
    [
      5,
      () => {
        const u = user(random() < 0.5 ? {} : { customer_v2_id: null });
        customer("repair_half_link", { user_id: u.id });
      },
    ],
    [
      5,
      () => {
        const c = customer("ambiguous_phone");
        user({ phone: spell(c.phone) });
        user({ phone: spell(c.phone) });
      },
    ],
    [
      3,
      () => {
        const c1 = customer("ambiguous_phone");
        customer("ambiguous_phone", { phone: spell(c1.phone) });
        user({ phone: spell(c1.phone) });
      },
    ],
    [
      2,
      () => {
        const u = user();
        const c1 = customer("conflict", { user_id: u.id });
        customer("conflict", { user_id: u.id });
        if (random() < 0.5) u.customer_v2_id = c1.id;
      },
    ],
    [
      1,
      () => {
        const u1 = user();
        const u2 = user();
        const c1 = customer("conflict", { user_id: u1.id });
        const c2 = customer("conflict", { user_id: u2.id });
        u1.customer_v2_id = c2.id;
        u2.customer_v2_id = c1.id;
      },
    ],
    [
      2,
      () => {
        const c = customer("dangling", { user_id: random() < 0.5 ? uuid() : hex(24) });
        if (random() < 0.5) user({ phone: spell(c.phone) });
      },
    ],
    [
      1,
      () => {
        const u = user();
        const missing = uuid();
        u.customer_v2_id = missing;
        intended.set(missing, "dangling");
      },
    ],
    [12, () => customer("no_match")],
    [
      3,
      () => {
        const c = customer("no_match");
        const phone = pick(["", null, "absent"]);
        if (phone === "absent") delete c.phone;
        else c.phone = phone;
      },
    ],
    [
      3,
      () => {
        const bad = pick(INVALID_PHONES);
        customer("no_match", { phone: bad });
        user({ phone: bad });
      },
    ],
    [
      3,
      () => {
        const c = customer("no_match");
        user({ role: pick(STAFF_ROLES), phone: spell(c.phone) });
      },
    ],
    [
      2,
      () => {
        const c = customer("phone");
        user({ phone: spell(c.phone) });
        user({ role: "delivery_boy", phone: spell(c.phone) });
      },
    ],
    [3, () => user({ phone: random() < 0.5 ? newPhone() : null })],
    // Staff and contested claims: never linked, each customer one conflict.
    [
      1,
      () => {
        const c = customer("conflict");
        user({ role: pick(STAFF_ROLES), customer_v2_id: c.id });
        user({ phone: spell(c.phone) });
      },
    ],
    [
      1,
      () => {
        const s = user({ role: pick(STAFF_ROLES), ...(random() < 0.5 && { customer_v2_id: null }) });
        customer("conflict", { user_id: s.id });
      },
    ],
    [
      1,
      () => {
        const u1 = user();
        const c = customer("conflict", { user_id: u1.id });
        user({ customer_v2_id: c.id });
      },
    ],
    [
      1,
      () => {
        const c = customer("conflict", random() < 0.5 ? {} : { user_id: null });
        user({ email: customerLoginEmail(c.id), customer_v2_id: c.id });
        user({ customer_v2_id: c.id });
      },
    ],
  ];
  const totalWeight = cases.reduce((sum, [w]) => sum + w, 0);
  while (customers.length < options.customers) {
    let r = random() * totalWeight;
    for (const [weight, build] of cases) {
      r -= weight;
      if (r < 0) {
        build();
        break;
      }
    }
  }
  return { users, customers, intended };
}

export async function insertGenerated(db: Db, data: GeneratedData): Promise<void> {
  for (const [name, docs] of [
    ["users", data.users],
    ["customers_v2", data.customers],
  ] as const) {
    for (let i = 0; i < docs.length; i += 5000) await db.collection(name).insertMany(docs.slice(i, i + 5000), { ordered: true });
  }
}

if (import.meta.main) {
  const { parseArgs } = await import("node:util");
  const { MongoClient } = await import("mongodb");
  const { DEFAULT_DB_NAME, DEFAULT_MONGODB_URI } = await import("../src/config.ts");
  const { values } = parseArgs({
    options: {
      customers: { type: "string", default: "20000" },
      seed: { type: "string", default: "1" },
      drop: { type: "boolean" },
    },
  });
  const count = Number(values.customers);
  const seed = Number(values.seed);
  if (!Number.isInteger(count) || count <= 0 || !Number.isInteger(seed)) {
    console.error("usage: generate-legacy-data.ts --customers N [--seed S] [--drop]");
    process.exit(1);
  }
  const client = await new MongoClient(process.env.MONGODB_URI || DEFAULT_MONGODB_URI, {
    serverSelectionTimeoutMS: 5000,
  }).connect();
  try {
    const db = client.db(process.env.DB_NAME || DEFAULT_DB_NAME);
    const existing =
      (await db.collection("users").estimatedDocumentCount()) + (await db.collection("customers_v2").estimatedDocumentCount());
    if (existing > 0 && !values.drop) {
      console.error(`database ${db.databaseName} already holds users/customers_v2; pass --drop to replace them`);
      process.exitCode = 2;
    } else {
      if (values.drop)
        await Promise.all([
          db
            .collection("users")
            .drop()
            .catch(() => {}),
          db
            .collection("customers_v2")
            .drop()
            .catch(() => {}),
        ]);
      const data = generateLegacyData({ customers: count, seed });
      await insertGenerated(db, data);
      console.log(`inserted ${data.users.length} users and ${data.customers.length} customers into ${db.databaseName}`);
    }
  } finally {
    await client.close();
  }
}
