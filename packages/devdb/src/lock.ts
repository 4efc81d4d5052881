// One server per data directory. On Linux the lock is an abstract-namespace Unix socket named
// after the directory: the kernel frees it the moment its process dies (even by SIGKILL), so a
// crashed server never blocks a restart. Elsewhere a PID file is used, taken over when its
// process is gone.
import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

const LOCK_FILE = "devdb.lock";

export interface DirLock {
  release(): void;
}

/** Thrown when another live server holds the directory. */
export class DirInUseError extends Error {}

function holderPid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, "utf8"));
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function inUse(dir: string, pid: number | null): DirInUseError {
  return new DirInUseError(
    `data directory ${dir} is in use by another devdb server${pid !== null && pid !== process.pid ? ` (process ${pid})` : ""}`,
  );
}

/** The abstract socket name for a directory (Linux). */
export function lockSocketName(dir: string): string {
  const real = fs.realpathSync(dir);
  return "\0earlybird-devdb-" + createHash("sha256").update(real).digest("hex");
}

async function socketLock(dir: string): Promise<DirLock> {
  const file = path.join(dir, LOCK_FILE);
  const server = net.createServer((s) => s.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ path: lockSocketName(dir), exclusive: true }, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EADDRINUSE") throw inUse(dir, holderPid(file));
    throw e;
  }
  server.unref();
  // For people and tools only; the socket is the lock.
  fs.writeFileSync(file, String(process.pid));
  return {
    release() {
      if (holderPid(file) === process.pid) fs.rmSync(file, { force: true });
      server.close();
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function pidFileLock(dir: string): DirLock {
  const file = path.join(dir, LOCK_FILE);
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return { release: () => fs.rmSync(file, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = holderPid(file);
    if (holder !== null && alive(holder)) throw inUse(dir, holder);
    fs.rmSync(file, { force: true });
  }
}

/** Locks `dir` (created if missing) for this process until release() or process exit. */
export async function lockDir(dir: string): Promise<DirLock> {
  fs.mkdirSync(dir, { recursive: true });
  return process.platform === "linux" ? socketLock(dir) : pidFileLock(dir);
}
