import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Migration } from "./types.ts";

export const DEFAULT_MIGRATIONS_DIR = resolve(import.meta.dirname, "..", "..", "migrations");

const FILE_PATTERN = /^\d{3}_[a-z0-9_]+\.ts$/;

export interface MigrationFile {
  id: string;
  file: string;
  checksum: string;
  migration: Migration;
}

/** Line endings are normalised so a CRLF checkout does not look like an edit. */
export function checksumOf(source: string): string {
  return "sha256:" + createHash("sha256").update(source.replace(/\r\n/g, "\n")).digest("hex");
}

/** The migration modules in `dir`, in id order, each checked for the exports the runner needs. */
export async function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => FILE_PATTERN.test(n)).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const source = await readFile(file, "utf8");
    const mod = (await import(pathToFileURL(file).href)) as Partial<Migration>;
    const id = basename(name, ".ts");
    const problems = [
      mod.id !== id && `exports id ${JSON.stringify(mod.id)} but the file name says "${id}"`,
      typeof mod.description !== "string" && "exports no description",
      typeof mod.up !== "function" && "exports no up(ctx)",
      typeof mod.down !== "function" && "exports no down(ctx)",
    ].filter(Boolean);
    if (problems.length > 0) throw new Error(`migration ${name}: ${problems.join("; ")}`);
    files.push({ id, file, checksum: checksumOf(source), migration: mod as Migration });
  }
  return files;
}
