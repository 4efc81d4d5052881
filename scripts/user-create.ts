// Creates a staff user: npm run user:create -- --email E --role R [--name N] [--phone P] [--password-stdin] [--json]
// Exit codes: 0 created, 1 failure (bad arguments or values, unreachable database), 2 refused (email taken).

import { parseArgs } from "node:util";
import { type Db, MongoClient } from "mongodb";
import { STAFF_ROLES, type UserDoc, usersCollection } from "../src/db/collections.ts";
import { isDuplicateKey } from "../src/db/errors.ts";
import { emailExists } from "../src/db/users.ts";
import { normalizePhone } from "../src/lib/phone.ts";
import { EmailSchema } from "../src/schemas/customers.ts";
import { generatePassword, hashPassword, validateNewPassword } from "../src/services/auth/passwords.ts";
import { redactUri, scriptConfig } from "./lib/settings.ts";

const USAGE = `usage: npm run user:create -- --email E --role R [--name N] [--phone P] [--password-stdin] [--json]

  --email E           login email (stored lower-case; must not exist yet, in any letter case)
  --role R            one of: ${STAFF_ROLES.join(", ")}
  --name N            display name (default: the part of the email before @)
  --phone P           Indian mobile number in any usual spelling; stored as 10 digits
  --password-stdin    read the password from standard input (8-72 bytes); otherwise a random
                      one is generated, printed once, and must be changed at first login
  --json              print {"user": …, "generated_password": …} on stdout

environment (else .dev.vars): MONGODB_URI, DB_NAME, BCRYPT_COST`;

/** A refusal or invalid input, reported as one line without a stack trace. */
export class UserCreateError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2 = 1) {
    super(message);
    this.name = "UserCreateError";
    this.exitCode = exitCode;
  }
}

export interface StaffUserInput {
  email: string;
  role: string;
  name?: string | undefined;
  phone?: string | undefined;
  /** Absent: a random password is generated and the user must change it at first login. */
  password?: string | undefined;
}

export interface CreatedStaffUser {
  user: Pick<UserDoc, "id" | "email" | "name" | "role" | "phone">;
  /** The generated password (shown once), or null when the caller supplied one. */
  generatedPassword: string | null;
}

function isStaffRole(role: string): role is (typeof STAFF_ROLES)[number] {
  return (STAFF_ROLES as readonly string[]).includes(role);
}

type ValidStaffUser = Omit<UserDoc, "id" | "password_hash"> & { password: string | undefined };

/** Checks and normalizes the input without touching the database. */
export function validateStaffUser(input: StaffUserInput): ValidStaffUser {
  const parsedEmail = EmailSchema.safeParse(input.email);
  if (!parsedEmail.success) throw new UserCreateError(`email ${JSON.stringify(input.email)} is not a valid email address`);
  const email = parsedEmail.data;
  if (input.role === "customer") {
    throw new UserCreateError(
      "role customer is not a staff role: customers are created with their customer record (POST /api/phase0-v2/customers)",
    );
  }
  if (!isStaffRole(input.role)) {
    throw new UserCreateError(`role ${JSON.stringify(input.role)} is not a staff role; use one of: ${STAFF_ROLES.join(", ")}`);
  }
  let phone: string | null = null;
  if (input.phone !== undefined) {
    phone = normalizePhone(input.phone);
    if (phone === null) {
      throw new UserCreateError(
        `phone ${JSON.stringify(input.phone)} is not an Indian mobile number (10 digits starting with 6-9, optionally +91/91/0)`,
      );
    }
  }
  if (input.password !== undefined) {
    const problem = validateNewPassword(input.password);
    if (problem) throw new UserCreateError(problem);
  }
  const name = input.name?.trim() || email.slice(0, email.indexOf("@"));
  return { email, name, role: input.role, phone, password: input.password };
}

function emailTaken(email: string): UserCreateError {
  return new UserCreateError(`a user with email ${email} already exists (emails compare ignoring case); nothing was changed`, 2);
}

/**
 * Creates one staff user with a bcrypt hash (cost from BCRYPT_COST). Customers are refused:
 * they are created with their linked customer record by the onboarding API.
 */
export async function createStaffUser(db: Db, input: StaffUserInput, bcryptCost: number): Promise<CreatedStaffUser> {
  const { password, ...valid } = validateStaffUser(input);
  if (await emailExists(db, valid.email)) throw emailTaken(valid.email);
  const generatedPassword = password === undefined ? generatePassword() : null;
  const now = new Date();
  const doc: UserDoc = {
    id: crypto.randomUUID(),
    ...valid,
    phone_normalized: valid.phone,
    password_hash: await hashPassword(password ?? generatedPassword!, bcryptCost),
    is_active: true,
    customer_v2_id: null,
    must_change_password: generatedPassword !== null,
    token_version: 0,
    created_at: now,
    updated_at: now,
  };
  try {
    await usersCollection(db).insertOne(doc);
  } catch (err) {
    // The unique case-insensitive email index (migration 001) closes the race with a concurrent create.
    if (isDuplicateKey(err)) throw emailTaken(valid.email);
    throw err;
  }
  return { user: { id: doc.id, email: doc.email, name: doc.name, role: doc.role, phone: doc.phone }, generatedPassword };
}

/** Reads the whole of a piped stdin; on a terminal, one line without echoing it. */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
  }
  process.stderr.write("Password: ");
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let typed = "";
    const done = (fn: () => void) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener("data", onData);
      process.stderr.write("\n");
      fn();
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return done(() => resolve(typed));
        if (ch === "\u0003") return done(() => reject(new UserCreateError("cancelled")));
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on("data", onData);
    stdin.resume();
  });
}

function parseCommandLine() {
  return parseArgs({
    options: {
      email: { type: "string" },
      role: { type: "string" },
      name: { type: "string" },
      phone: { type: "string" },
      "password-stdin": { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

async function main(): Promise<number> {
  let values: ReturnType<typeof parseCommandLine>["values"];
  try {
    ({ values } = parseCommandLine());
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.email || !values.role) {
    process.stderr.write(`error: --email and --role are required\n\n${USAGE}\n`);
    return 1;
  }

  const config = scriptConfig();
  let client: MongoClient | null = null;
  try {
    const input: StaffUserInput = { email: values.email, role: values.role, name: values.name, phone: values.phone };
    validateStaffUser(input); // refuse bad values before asking for a password
    if (values["password-stdin"]) {
      input.password = await readPassword();
      validateStaffUser(input);
    }
    client = new MongoClient(config.mongodbUri, {
      serverSelectionTimeoutMS: config.serverSelectionTimeoutMs,
      appName: "earlybird-user-create",
    });
    try {
      await client.connect();
    } catch (err) {
      throw new UserCreateError(`cannot reach MongoDB at ${redactUri(config.mongodbUri)}: ${(err as Error).message}`);
    }
    const db = client.db(config.dbName);
    const created = await createStaffUser(db, input, config.bcryptCost);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ user: created.user, generated_password: created.generatedPassword })}\n`);
    } else {
      const { user } = created;
      process.stdout.write(
        `Created ${user.role} ${user.email} (id ${user.id}) in ${config.dbName} at ${redactUri(config.mongodbUri)}\n`,
      );
      if (created.generatedPassword) {
        process.stdout.write(`Password (shown only now; the user must change it at first login): ${created.generatedPassword}\n`);
      }
    }
    return 0;
  } catch (err) {
    if (err instanceof UserCreateError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`error: ${(err as Error).name}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await client?.close().catch(() => undefined);
  }
}

if (import.meta.main) process.exitCode = await main();
