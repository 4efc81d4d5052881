import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { Migration } from "./types.ts";

export const DEFAULT_MIGRATIONS_DIR = resolve(import.meta.dirname, "..", "..", "migrations");

export const FILE_PATTERN = /^\d{3}_[a-z0-9_]+\.ts$/;

export interface MigrationFile {
  /** The file name without its extension (e.g. "002_link_users_customers"). */
  id: string;
  file: string;
  /** Covers the migration file and every local module it imports, transitively. */
  checksum: string;
  /** The file alone: what runners before the import-covering checksum recorded. */
  fileChecksum: string;
  /** The local modules the checksum covers besides the file, relative to the migrations folder. */
  imports: string[];
  migration: Migration;
}

const normalise = (source: string): string => source.replace(/\r\n/g, "\n");

/** Line endings are normalised so a CRLF checkout does not look like an edit. */
export function checksumOf(source: string): string {
  return "sha256:" + createHash("sha256").update(normalise(source)).digest("hex");
}

/** Relative specifiers of static and dynamic imports and re-exports (`import … from "./x.ts"`). */
const IMPORT_PATTERN = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;

/** The local modules `file` imports, transitively (type-only imports included), each once, sorted. */
export async function localImports(file: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [resolve(file)];
  while (queue.length > 0) {
    const current = queue.shift()!;
    const source = await readFile(current, "utf8");
    for (const match of source.matchAll(IMPORT_PATTERN)) {
      const target = resolve(dirname(current), match[1]!);
      if (target === resolve(file) || seen.has(target) || target.split(sep).includes("node_modules")) continue;
      seen.add(target);
      queue.push(target);
    }
  }
  return [...seen].sort();
}

/**
 * The checksum of a migration: its source plus, in path order, each local module it imports
 * (transitively) under its path relative to the migrations folder. Editing a helper such as
 * scripts/migrate/link-plan.ts therefore changes the checksum of every migration using it.
 */
export async function migrationChecksum(file: string): Promise<{ checksum: string; imports: string[] }> {
  const base = dirname(resolve(file));
  const hash = createHash("sha256").update(normalise(await readFile(file, "utf8")));
  const imports: string[] = [];
  for (const dep of await localImports(file)) {
    const name = relative(base, dep).split(sep).join("/");
    imports.push(name);
    hash.update(`\0${name}\0`).update(normalise(await readFile(dep, "utf8")));
  }
  return { checksum: "sha256:" + hash.digest("hex"), imports };
}

/** The migration modules in `dir`, in id order, each checked for the exports the runner needs. */
export async function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => FILE_PATTERN.test(n)).sort();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const source = await readFile(file, "utf8");
    const mod = (await import(pathToFileURL(file).href)) as Partial<Migration>;
    // The id is the file name without its extension. An `id` export is not needed; a file that
    // still exports one (001 predates this rule) must agree with its name, or it is refused.
    const id = basename(name, ".ts");
    const problems = [
      mod.id !== undefined &&
        mod.id !== id &&
        `exports id ${JSON.stringify(mod.id)} but its id is its file name, "${id}" (remove the id export)`,
      typeof mod.description !== "string" && "exports no description",
      typeof mod.up !== "function" && "exports no up(ctx)",
      typeof mod.down !== "function" && "exports no down(ctx)",
    ].filter(Boolean);
    if (problems.length > 0) throw new Error(`migration ${name}: ${problems.join("; ")}`);
    const { checksum, imports } = await migrationChecksum(file);
    files.push({ id, file, checksum, fileChecksum: checksumOf(source), imports, migration: mod as Migration });
  }
  return files;
}
