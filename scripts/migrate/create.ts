// `npm run migrate -- create <name>`: scaffolds migrations/NNN_<snake_name>.ts with the next number.
import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { FILE_PATTERN } from "./loader.ts";
import { UsageError } from "./types.ts";

const TYPES_MODULE = resolve(import.meta.dirname, "types.ts");
const MAX_NAME = 60;

/**
 * "add phone index", "add-phone-index", "addPhoneIndex" and "add_phone_index" all become
 * "add_phone_index". Refused: empty, not starting with a letter, other characters, too long.
 */
export function snakeName(raw: string): string {
  const trimmed = raw.trim();
  if (!/^[A-Za-z][A-Za-z0-9 _-]*$/.test(trimmed)) {
    throw new UsageError(
      `bad migration name ${JSON.stringify(raw)}: use letters, digits, spaces, "-" or "_", starting with a letter (e.g. "users phone normalized")`,
    );
  }
  const snake = trimmed
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[ -]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/_$/, "")
    .toLowerCase();
  if (snake.length > MAX_NAME)
    throw new UsageError(`bad migration name ${JSON.stringify(raw)}: ${snake.length} characters, at most ${MAX_NAME}`);
  return snake;
}

function template(id: string, typesImport: string): string {
  return `// ${id}: TODO one or two lines: what this migration changes and why (the issue it serves).
// Never edit this file once it has been applied anywhere: its checksum (and that of every local
// module it imports) is recorded, and an edited file is refused. Add a new migration instead.
import type { MigrationContext } from "${typesImport}";

// The id is the file name (${id}); do not export one.
export const description = "TODO: what this migration changes, in one line (shown by status and in the changelog)";

/**
 * Apply the change.
 * 1. Plan with reads only: what would change (documents to update, indexes to create…).
 *    Throw RefusedError (scripts/migrate/types.ts) if a person must fix data first; nothing changed.
 * 2. In a dry run (ctx.dryRun) return the plan as counts (would_*): ctx.db is then read-only and
 *    any write throws "dry run: write attempted", failing the run.
 * 3. Otherwise write in batches (bulkWrite, never one round trip per document), calling
 *    \`await ctx.checkpoint("<step>")\` before each batch; make a rerun after a crash safe.
 * 4. Return counts of what was done; they are printed and stored in the changelog (DOWN gets
 *    them back as ctx.appliedSummary).
 * Options given as --opt key=value or --some-flag arrive in ctx.options once declared here, e.g.
 *   export const options: Record<string, MigrationOptionSpec> = {
 *     "batch-size": { type: "string", commands: ["up"], description: "documents per batch" },
 *   };
 */
export async function up(ctx: MigrationContext) {
  throw new Error(\`\${ctx.migrationId}: up is not written yet\`);
}

/**
 * Revert exactly what up did (use ctx.appliedSummary), leaving data that existed before or was
 * written since alone. Same plan / dry run / checkpoint rules as up.
 */
export async function down(ctx: MigrationContext) {
  throw new Error(\`\${ctx.migrationId}: down is not written yet\`);
}
`;
}

/** Writes the skeleton (never over an existing file); returns its id and path. */
export async function createMigration(dir: string, rawName: string): Promise<{ id: string; file: string }> {
  const name = snakeName(rawName);
  const existing = (await readdir(dir)).filter((n) => FILE_PATTERN.test(n)).sort();
  const sameName = existing.find((n) => n.slice(4, -3) === name);
  if (sameName !== undefined)
    throw new UsageError(`a migration named "${name}" exists already: ${sameName}; choose another name`);
  const next = existing.length === 0 ? 1 : Number(existing.at(-1)!.slice(0, 3)) + 1;
  if (next > 999) throw new UsageError("no migration number left after 999");
  const id = `${String(next).padStart(3, "0")}_${name}`;
  const file = join(dir, `${id}.ts`);
  // The project layout (migrations/ next to scripts/) when the folder has it, else the path to this runner's types.
  const typesImport = existsSync(join(dir, "..", "scripts", "migrate", "types.ts"))
    ? "../scripts/migrate/types.ts"
    : relative(resolve(dir), TYPES_MODULE).split(sep).join("/");
  await writeFile(file, template(id, typesImport.startsWith(".") ? typesImport : `./${typesImport}`), { flag: "wx" });
  return { id, file };
}
