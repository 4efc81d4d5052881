// Running `wrangler dev` from Node scripts (dev start-up, benchmarks): its own process group so
// that stopping it also stops the workerd and esbuild processes it starts.
import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "./settings.ts";

export interface WranglerDevOptions {
  port: number;
  /** File with secrets/vars for the Worker (`--env-file`), e.g. `.dev.vars`. */
  envFile: string;
  /** Where `.wrangler/state` and `.wrangler/logs` go. */
  stateDir: string;
  stdio?: StdioOptions;
}

export function startWranglerDev(options: WranglerDevOptions): ChildProcess {
  const wranglerBin = join(PROJECT_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  const logDir = join(options.stateDir, ".wrangler", "logs");
  mkdirSync(logDir, { recursive: true });
  // process.execPath is the Node 24 that npm put first on PATH; wrangler needs >= 22.
  return spawn(
    process.execPath,
    [
      wranglerBin,
      "dev",
      "--config",
      join(PROJECT_ROOT, "wrangler.toml"),
      "--ip",
      "127.0.0.1",
      "--port",
      String(options.port),
      "--env-file",
      options.envFile,
      "--persist-to",
      join(options.stateDir, ".wrangler", "state"),
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: PROJECT_ROOT,
      detached: true,
      stdio: options.stdio ?? ["ignore", "inherit", "inherit"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_LOG_PATH: logDir },
    },
  );
}

/** Resolves once the Worker answers /health (any status: it may report the database down). */
export async function waitForWorker(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error("wrangler dev exited before the API came up (see its output above)");
    try {
      // Generous: the first request waits for the bundle to load; refused connections fail fast anyway.
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error(`the API did not answer on port ${port} within ${timeoutMs / 1000} s`);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the child's whole process group, SIGKILL after `graceMs`. */
export async function stopProcessGroup(child: ChildProcess, graceMs = 8_000): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined || !groupAlive(pgid)) return;
  try {
    process.kill(-pgid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pgid)) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
