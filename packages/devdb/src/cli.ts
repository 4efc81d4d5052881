// npm run db -- [--port 27017] [--host 127.0.0.1] [--memory] [--dir .data/db] [--verbose]
import { parseArgs } from "node:util";
import { startServer } from "./server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "27017" },
    host: { type: "string", default: "127.0.0.1" },
    dir: { type: "string", default: ".data/db" },
    memory: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${values.port}`);
  process.exit(2);
}

const server = await startServer({
  port,
  host: values.host,
  quiet: !values.verbose,
  ...(values.memory ? {} : { dir: values.dir }),
});
console.log(server.uri);

let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  server.stop().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
