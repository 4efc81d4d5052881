// A local stand-in for SMS gateways, reachable from workerd: records every request it gets.
//   POST /sms             the webhook provider's target: 200
//   POST /sms-fail        a failing gateway: 500
//   POST /api/v5/flow     a fake of MSG91's Flow API: {"type":"success"}, or 401 {"type":"error"} for authkey "bad-key"
//   GET  /messages        everything recorded so far, oldest first
import { createServer, type Server } from "node:http";

export interface RecordedRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, exactly as received (signatures are computed over it). */
  body: string;
  at: number;
}

export async function startSmsReceiver(): Promise<{ url: string; stop(): Promise<void> }> {
  const recorded: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0]!;
      if (req.method === "GET" && path === "/messages") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(recorded));
        return;
      }
      recorded.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
      if (path === "/sms") res.writeHead(200).end("ok");
      else if (path === "/sms-fail") res.writeHead(500).end("gateway down");
      else if (path === "/api/v5/flow" && req.headers.authkey === "bad-key") {
        res
          .writeHead(401, { "content-type": "application/json" })
          .end(JSON.stringify({ type: "error", message: "Authentication failure" }));
      } else if (path === "/api/v5/flow") {
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ type: "success", message: "3763646c3058393530393737" }));
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("sms receiver has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive connections of workerd's fetch()
      }),
  };
}
