import { MongoClient } from "mongodb";
import { describe, expect, it } from "vitest";
import { RawClient, uniqueName, useServer } from "./helpers.ts";

const h = useServer();

describe("wire protocol", () => {
  it("answers a legacy OP_QUERY isMaster with an OP_REPLY", async () => {
    const raw = await RawClient.connect(h.server.port);
    try {
      const reply = await raw.legacyQuery({ isMaster: 1, helloOk: true, client: { driver: { name: "raw", version: "0" } } });
      expect(reply).toMatchObject({
        ismaster: true,
        helloOk: true,
        setName: "rs0",
        maxWireVersion: 21,
        minWireVersion: 0,
        ok: 1,
      });
      expect(reply.me).toBe(`127.0.0.1:${h.server.port}`);
      expect(reply.topologyVersion).toBeUndefined();
      // The same connection then speaks OP_MSG.
      expect(await raw.command({ ping: 1, $db: "admin" })).toEqual({ ok: 1 });
    } finally {
      raw.close();
    }
  });

  it("merges kind-1 document sequences and sends no reply to moreToCome", async () => {
    const name = uniqueName("seq");
    const raw = await RawClient.connect(h.server.port);
    try {
      // w:0 style insert: flag bit 1 (moreToCome) means the client expects no reply.
      const noReply = raw.command({ insert: name, documents: [{ _id: 1 }], $db: "proto" }, 2);
      const next = await raw.command({ count: name, $db: "proto" });
      expect(next).toEqual({ n: 1, ok: 1 });
      const raced = await Promise.race([noReply.then(() => "replied"), new Promise((r) => setTimeout(() => r("silent"), 100))]);
      expect(raced).toBe("silent");
    } finally {
      raw.close();
    }
    const driver = h.client.db("proto").collection(name);
    // The driver sends insertMany documents as a kind-1 section.
    await driver.insertMany([{ _id: 2 }, { _id: 3 }] as never);
    expect(await driver.countDocuments()).toBe(3);
  });

  it("accepts a message carrying a checksum", async () => {
    const raw = await RawClient.connect(h.server.port);
    try {
      expect(await raw.command({ ping: 1, $db: "admin" }, 1)).toEqual({ ok: 1 });
    } finally {
      raw.close();
    }
  });

  it("closes only the connection that sent a malformed message", async () => {
    const bad = await RawClient.connect(h.server.port);
    const good = await RawClient.connect(h.server.port);
    try {
      const garbage = Buffer.alloc(40, 0xab);
      garbage.writeInt32LE(40, 0);
      garbage.writeInt32LE(2013, 12);
      garbage.writeUInt32LE(0, 16);
      bad.write(garbage);
      await bad.closed;

      const badLength = await RawClient.connect(h.server.port);
      badLength.write(Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]));
      await badLength.closed;

      const unknownOp = await RawClient.connect(h.server.port);
      const op = Buffer.alloc(24);
      op.writeInt32LE(24, 0);
      op.writeInt32LE(9999, 12);
      unknownOp.write(op);
      await unknownOp.closed;

      expect(await good.command({ ping: 1, $db: "admin" })).toEqual({ ok: 1 });
      expect(await h.client.db("admin").command({ ping: 1 })).toEqual({ ok: 1 });
    } finally {
      good.close();
    }
  });

  it("serves 200 concurrent clients each writing and reading", async () => {
    const name = uniqueName("many");
    const before = h.server.stats().connectionsOpened;
    const clients = Array.from({ length: 200 }, () => new MongoClient(h.server.uri, { maxPoolSize: 1 }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      const read = await Promise.all(
        clients.map(async (c, i) => {
          const coll = c.db("proto").collection(name);
          await coll.insertOne({ _id: i, who: `client-${i}` } as never);
          return coll.findOne({ _id: i } as never);
        }),
      );
      expect(read.map((d) => d?.who)).toEqual(clients.map((_, i) => `client-${i}`));
      expect(await h.client.db("proto").collection(name).countDocuments()).toBe(200);
      const stats = h.server.stats();
      // Each client: one monitoring connection plus at least one pooled connection.
      expect(stats.connectionsOpened - before).toBeGreaterThanOrEqual(400);
      expect(stats.connectionsActive).toBeGreaterThanOrEqual(400);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("counts commands by name", async () => {
    const before = h.server.stats().commands.ping ?? 0;
    await h.client.db("admin").command({ ping: 1 });
    await h.client.db("admin").command({ ping: 1 });
    expect(h.server.stats().commands.ping).toBe(before + 2);
  });
});
