import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Decimal128, Long, MongoClient, ObjectId } from "mongodb";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../src/server.ts";
import { type AnyDoc, failure } from "./helpers.ts";

const serverModule = path.resolve(import.meta.dirname, "../src/server.ts");
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "devdb-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function open(dir: string): Promise<{ server: RunningServer; client: MongoClient }> {
  const server = await startServer({ dir });
  const client = await new MongoClient(server.uri).connect();
  return { server, client };
}

const id = new ObjectId();
const when = new Date("2026-05-06T07:08:09.010Z");

async function writeSample(client: MongoClient): Promise<void> {
  const db = client.db("persist");
  const users = db.collection<AnyDoc>("users");
  await users.createIndex({ email: 1 }, { unique: true, collation: { locale: "en", strength: 2 } });
  await users.createIndex({ ref: 1 }, { unique: true, partialFilterExpression: { ref: { $exists: true } } });
  await users.insertMany([
    {
      _id: id,
      email: "A@x.io",
      when,
      big: Long.fromString("9007199254740993"),
      dec: Decimal128.fromString("1.10"),
      nested: { list: [1, "two", null] },
    },
    { _id: 2, email: "b@x.io", ref: 1 },
    { _id: 3, email: "c@x.io" },
  ]);
  await users.updateOne({ _id: 2 }, { $set: { n: 1 } });
  await users.deleteOne({ _id: 3 });
  await db.collection("dropped").insertOne({ x: 1 });
  await db.collection("dropped").drop();
  const s = client.startSession();
  await s.withTransaction(async () => {
    await users.insertOne({ _id: 4, email: "txn@x.io" }, { session: s });
  });
  await s.endSession();
}

async function expectSample(client: MongoClient): Promise<void> {
  const db = client.db("persist");
  const users = db.collection<AnyDoc>("users");
  expect(await users.find().toArray()).toEqual([
    {
      _id: id,
      email: "A@x.io",
      when,
      big: Long.fromString("9007199254740993"),
      dec: Decimal128.fromString("1.10"),
      nested: { list: [1, "two", null] },
    },
    { _id: 2, email: "b@x.io", ref: 1, n: 1 },
    { _id: 4, email: "txn@x.io" },
  ]);
  expect((await db.listCollections().toArray()).map((c) => c.name)).toEqual(["users"]);
  expect((await users.listIndexes().toArray()).map((i) => [i.name, i.unique ?? false])).toEqual([
    ["_id_", false],
    ["email_1", true],
    ["ref_1", true],
  ]);
  expect((await failure(users.insertOne({ email: "a@X.io" }))).code).toBe(11000);
  await users.insertMany([
    { _id: 10, email: "d@x.io" },
    { _id: 11, email: "e@x.io" },
  ]);
  expect(await users.countDocuments()).toBe(5);
}

describe("persistence", () => {
  it("keeps data and indexes across a clean stop and restart", async () => {
    const dir = tempDir();
    const first = await open(dir);
    await expect(startServer({ dir })).rejects.toThrow(/is in use by another devdb server/);
    await writeSample(first.client);
    await first.client.close();
    await first.server.stop();

    const second = await open(dir);
    cleanups.push(async () => {
      await second.client.close();
      await second.server.stop();
    });
    await expectSample(second.client);
  });

  it("recovers acknowledged writes after the process is killed", async () => {
    const dir = tempDir();
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { startServer } = await import(${JSON.stringify(serverModule)}); const s = await startServer({ dir: ${JSON.stringify(dir)} }); console.log(s.uri);`,
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    cleanups.push(() => {
      child.kill("SIGKILL");
    });
    const uri = await new Promise<string>((resolve, reject) => {
      child.stdout.once("data", (b: Buffer) => resolve(b.toString().trim()));
      child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    });
    const client = await new MongoClient(uri).connect();
    await writeSample(client);
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    await client.close(true);
    // A write torn by the crash must not hide the acknowledged ones.
    fs.appendFileSync(path.join(dir, "journal.bson"), Buffer.from([0x40, 0, 0, 0, 3, 0x6f]));

    const after = await open(dir);
    cleanups.push(async () => {
      await after.client.close();
      await after.server.stop();
    });
    await expectSample(after.client);
  });

  it("npm run db: prints the URI, stops cleanly on SIGTERM and keeps the data", async () => {
    const dir = tempDir();
    const cli = path.resolve(import.meta.dirname, "../src/cli.ts");
    const run = async (work: (uri: string) => Promise<void>): Promise<number | null> => {
      const child = spawn(process.execPath, [cli, "--port", "0", "--dir", dir], { stdio: ["ignore", "pipe", "inherit"] });
      cleanups.push(() => {
        child.kill("SIGKILL");
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      const line = await new Promise<string>((resolve) => child.stdout.once("data", (b: Buffer) => resolve(b.toString())));
      expect(line).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\/\?directConnection=true\n$/);
      expect(line).not.toContain(":0/");
      await work(line.trim());
      child.kill("SIGTERM");
      return exited;
    };
    const code = await run(async (uri) => {
      const client = await new MongoClient(uri).connect();
      await client
        .db("cli")
        .collection("c")
        .insertOne({ _id: "kept" } as never);
      await client.close();
    });
    expect(code).toBe(0);
    await run(async (uri) => {
      const client = await new MongoClient(uri).connect();
      expect(await client.db("cli").collection("c").find().toArray()).toEqual([{ _id: "kept" }]);
      await client.close();
    });
  });

  it("locks the directory with a lock that dies with its process (SIGKILL, then restart at once)", async () => {
    const dir = tempDir();
    const cli = path.resolve(import.meta.dirname, "../src/cli.ts");
    const child = spawn(process.execPath, [cli, "--port", "0", "--dir", dir], { stdio: ["ignore", "pipe", "inherit"] });
    cleanups.push(() => {
      child.kill("SIGKILL");
    });
    const exited = new Promise((r) => child.once("exit", r));
    await new Promise<string>((resolve) => child.stdout.once("data", (b: Buffer) => resolve(b.toString())));
    // Two live servers on one directory: the second refuses, naming the holder.
    await expect(startServer({ dir })).rejects.toThrow(
      new RegExp(`data directory .* is in use by another devdb server \\(process ${child.pid}\\)`),
    );
    child.kill("SIGKILL");
    await exited;
    const started = Date.now();
    const after = await open(dir);
    expect(Date.now() - started).toBeLessThan(2000);
    await after.client.close();
    await after.server.stop();
  });

  it.runIf(process.platform === "linux")("ignores a stale lock file naming a live unrelated process", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "devdb.lock"), String(process.ppid));
    const after = await open(dir);
    await after.client.close();
    await after.server.stop();
    expect(fs.existsSync(path.join(dir, "devdb.lock"))).toBe(false);
  });

  it("writes nothing to disk in memory mode", async () => {
    const cwd = fs.readdirSync(process.cwd()).sort();
    const server = await startServer();
    const client = await new MongoClient(server.uri).connect();
    await client.db("mem").collection("c").insertOne({ a: 1 });
    await client.close();
    await server.stop();
    expect(fs.readdirSync(process.cwd()).sort()).toEqual(cwd);
  });
});
