// The worker tests' controllable database path: a TCP proxy in front of the embedded database
// (scripts/lib/tcp-proxy.ts) and a tiny HTTP control port, so that a test inside workerd can
// take "the database" down, make it hang, bring it back, and count connections and messages.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type ProxyMode, startTcpProxy, type TcpProxy } from "../../scripts/lib/tcp-proxy.ts";

export interface ProxyControl {
  proxy: TcpProxy;
  controlUrl: string;
  stop(): Promise<void>;
}

const MODES: readonly ProxyMode[] = ["up", "down", "hang"];

/** GET /stats → ProxyStats; POST /mode/<up|down|hang>; POST /reset (zeroes the counters). */
export async function startProxyControl(target: { host: string; port: number }): Promise<ProxyControl> {
  const proxy = await startTcpProxy(target);
  const server = http.createServer((req, res) => {
    const [, action, arg] = (req.url ?? "").split("/");
    const mode = MODES.find((m) => m === arg);
    if (req.method === "POST" && action === "mode" && mode) proxy.setMode(mode);
    else if (req.method === "POST" && action === "reset") proxy.resetStats();
    else if (!(req.method === "GET" && action === "stats")) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(proxy.stats()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    proxy,
    controlUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      // Keep-alive connections of workerd's fetch() would hold close() open.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await proxy.stop();
    },
  };
}
