// A TCP proxy in front of the database for tests and the bench: counts connections and
// MongoDB wire messages, injects latency, and can take the database "down" (connections
// reset) or make it "hang" (connections accepted, nothing answered) and bring it back.
import net from "node:net";

export type ProxyMode = "up" | "down" | "hang";

export interface ProxyStats {
  /** Client connections accepted since start (or the last reset). */
  connectionsOpened: number;
  /** Client connections open right now. */
  connectionsActive: number;
  /** MongoDB wire messages sent by clients (requests, by the 4-byte length prefix). */
  messages: number;
  mode: ProxyMode;
}

export interface TcpProxy {
  port: number;
  /** `mongodb://127.0.0.1:<port>/?directConnection=true` style URI of the target, through the proxy. */
  uri(targetUri: string): string;
  stats(): ProxyStats;
  resetStats(): void;
  setMode(mode: ProxyMode): void;
  /** Injected delay per direction, in ms (a round trip costs twice this). */
  setOneWayDelay(ms: number): void;
  stop(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
}

/** Counts wire messages in a byte stream (each starts with its int32 little-endian length). */
function messageCounter(onMessage: () => void): (chunk: Buffer) => void {
  let need = 0; // bytes left of the current message's body
  const header: number[] = [];
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (need > 0) {
        const take = Math.min(need, chunk.length - i);
        need -= take;
        i += take;
        continue;
      }
      header.push(chunk[i]!);
      i++;
      if (header.length === 4) {
        const length = Buffer.from(header).readInt32LE(0);
        header.length = 0;
        onMessage();
        need = Math.max(0, length - 4);
      }
    }
  };
}

export async function startTcpProxy(
  target: { host: string; port: number },
  options: { oneWayDelayMs?: number } = {},
): Promise<TcpProxy> {
  let mode: ProxyMode = "up";
  let delay = options.oneWayDelayMs ?? 0;
  const stats = { connectionsOpened: 0, connectionsActive: 0, messages: 0 };
  const pairs = new Set<Pair>();

  /** Writes `chunk` to `to` after the injected delay, keeping the order of the stream. */
  const forwarder = (to: () => net.Socket | null) => {
    let lastDue = 0;
    return (chunk: Buffer) => {
      if (delay <= 0 && lastDue <= Date.now()) {
        to()?.write(chunk);
        return;
      }
      const due = Math.max(Date.now() + delay, lastDue);
      lastDue = due;
      setTimeout(() => {
        const socket = to();
        if (socket && !socket.destroyed) socket.write(chunk);
      }, due - Date.now());
    };
  };

  const drop = (pair: Pair) => {
    pair.client.destroy();
    pair.upstream?.destroy();
  };

  const server = net.createServer((client) => {
    stats.connectionsOpened++;
    stats.connectionsActive++;
    const pair: Pair = { client, upstream: null };
    pairs.add(pair);
    client.on("close", () => {
      stats.connectionsActive--;
      pairs.delete(pair);
      pair.upstream?.destroy();
    });
    client.on("error", () => undefined);
    if (mode === "down") {
      client.resetAndDestroy();
      return;
    }
    if (mode === "hang") return; // accepted, never answered
    const upstream = net.connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => client.destroy());
    const count = messageCounter(() => stats.messages++);
    const toUpstream = forwarder(() => pair.upstream);
    const toClient = forwarder(() => pair.client);
    client.on("data", (chunk: Buffer) => {
      if (mode !== "up") return; // a hung database swallows requests
      count(chunk);
      toUpstream(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (mode !== "up") return;
      toClient(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    uri(targetUri) {
      const url = new URL(targetUri);
      url.host = `127.0.0.1:${port}`;
      return url.toString();
    },
    stats: () => ({ ...stats, mode }),
    resetStats() {
      stats.connectionsOpened = 0;
      stats.messages = 0;
    },
    setMode(next) {
      const previous = mode;
      mode = next;
      if (next === "down") for (const pair of pairs) pair.client.resetAndDestroy();
      // Leaving a hang: the held connections are dead to their clients; reset them as a
      // network would once it notices.
      if (previous === "hang" && next !== "hang") for (const pair of pairs) drop(pair);
    },
    setOneWayDelay(ms) {
      delay = ms;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const pair of pairs) drop(pair);
        server.close(() => resolve());
      }),
  };
}
