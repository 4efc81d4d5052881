// MongoDB wire protocol framing: OP_QUERY (legacy handshake), OP_MSG and their replies.
import { BSON } from "bson";
import type { Doc } from "./values.ts";

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;
export const MAX_MESSAGE_BYTES = 48_000_000;

const CHECKSUM_PRESENT = 1;
export const MORE_TO_COME = 2;

export class ProtocolError extends Error {}

export interface Request {
  requestId: number;
  opCode: number;
  /** The command with kind-1 document sequences merged in as arrays. */
  command: Doc;
  /** Database from `$db` (OP_MSG) or the `<db>.$cmd` namespace (OP_QUERY). */
  db: string;
  moreToCome: boolean;
}

function readCString(buf: Buffer, at: number, end: number): [string, number] {
  const zero = buf.indexOf(0, at);
  if (zero < 0 || zero >= end) throw new ProtocolError("unterminated cstring");
  return [buf.toString("utf8", at, zero), zero + 1];
}

function readDoc(buf: Buffer, at: number, end: number): [Doc, number] {
  if (at + 5 > end) throw new ProtocolError("truncated document");
  const size = buf.readInt32LE(at);
  if (size < 5 || at + size > end) throw new ProtocolError("bad document size");
  try {
    return [BSON.deserialize(buf.subarray(at, at + size)) as Doc, at + size];
  } catch (e) {
    throw new ProtocolError(`invalid BSON: ${(e as Error).message}`);
  }
}

/** Parses one complete message (header included). Throws ProtocolError on anything malformed. */
export function parseMessage(msg: Buffer): Request {
  const requestId = msg.readInt32LE(4);
  const opCode = msg.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = msg.readUInt32LE(16);
    // Bits 0-15 are required to be understood; only checksumPresent and moreToCome exist.
    if ((flags & 0xfffc) !== 0) throw new ProtocolError(`unknown required OP_MSG flags ${flags}`);
    const end = flags & CHECKSUM_PRESENT ? msg.length - 4 : msg.length;
    let at = 20;
    let command: Doc | undefined;
    const sequences: [string, Doc[]][] = [];
    while (at < end) {
      const kind = msg[at++];
      if (kind === 0) {
        if (command !== undefined) throw new ProtocolError("two kind-0 sections");
        [command, at] = readDoc(msg, at, end);
      } else if (kind === 1) {
        if (at + 4 > end) throw new ProtocolError("truncated section");
        const size = msg.readInt32LE(at);
        const sectionEnd = at + size;
        if (size < 5 || sectionEnd > end) throw new ProtocolError("bad section size");
        let [name, p] = readCString(msg, at + 4, sectionEnd);
        const docs: Doc[] = [];
        while (p < sectionEnd) {
          let d: Doc;
          [d, p] = readDoc(msg, p, sectionEnd);
          docs.push(d);
        }
        sequences.push([name, docs]);
        at = sectionEnd;
      } else {
        throw new ProtocolError(`unknown section kind ${String(kind)}`);
      }
    }
    if (command === undefined) throw new ProtocolError("missing kind-0 section");
    for (const [name, docs] of sequences) command[name] = docs;
    const db = typeof command.$db === "string" ? command.$db : "admin";
    return { requestId, opCode, command, db, moreToCome: (flags & MORE_TO_COME) !== 0 };
  }
  if (opCode === OP_QUERY) {
    const end = msg.length;
    const [ns, at] = readCString(msg, 20, end);
    const [query] = readDoc(msg, at + 8, end);
    const command = isPlainQueryWrapper(query) ? (query.$query as Doc) : query;
    const dot = ns.indexOf(".");
    return { requestId, opCode, command, db: dot < 0 ? ns : ns.slice(0, dot), moreToCome: false };
  }
  throw new ProtocolError(`unsupported opCode ${opCode}`);
}

function isPlainQueryWrapper(q: Doc): boolean {
  return typeof q.$query === "object" && q.$query !== null;
}

let nextResponseId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(nextResponseId++ & 0x7fffffff, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

export function encodeReply(req: Request, reply: Doc): Buffer {
  const body = BSON.serialize(reply);
  if (req.opCode === OP_QUERY) {
    // responseFlags, cursorID (int64), startingFrom: all zero; numberReturned: 1.
    const prefix = Buffer.alloc(20);
    prefix.writeInt32LE(1, 16);
    return Buffer.concat([header(16 + 20 + body.length, req.requestId, OP_REPLY), prefix, body]);
  }
  const flags = Buffer.alloc(5);
  return Buffer.concat([header(16 + 5 + body.length, req.requestId, OP_MSG), flags, body]);
}
