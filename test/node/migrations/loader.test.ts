// A migration's id is its file name without the extension; an id export that disagrees is refused.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadMigrations } from "../../../scripts/migrate/loader.ts";
import { copyOfMigrations } from "./helpers.ts";

const body = (extra: string) =>
  `import type { MigrationContext } from "../scripts/migrate/types.ts";\n${extra}` +
  `export const description = "test migration";\n` +
  `export async function up(_ctx: MigrationContext) {}\nexport async function down(_ctx: MigrationContext) {}\n`;

describe("migration ids", () => {
  it("are the file names without extension, with or without an id export", async () => {
    const loaded = await loadMigrations();
    expect(loaded.map((m) => m.id)).toEqual(loaded.map((m) => m.file.split("/").at(-1)!.replace(/\.ts$/, "")));
    const copy = await copyOfMigrations();
    try {
      await writeFile(join(copy.dir, "004_no_id_export.ts"), body(""));
      await writeFile(join(copy.dir, "005_matching_id.ts"), body(`export const id = "005_matching_id";\n`));
      const ids = (await loadMigrations(copy.dir)).map((m) => m.id);
      expect(ids).toContain("004_no_id_export");
      expect(ids).toContain("005_matching_id");
    } finally {
      await copy.cleanup();
    }
  });

  it("a file exporting another id is refused by the loader, naming the file", async () => {
    const copy = await copyOfMigrations();
    try {
      await writeFile(join(copy.dir, "004_renamed.ts"), body(`export const id = "004_old_name";\n`));
      await expect(loadMigrations(copy.dir)).rejects.toThrow(
        /migration 004_renamed\.ts: exports id "004_old_name" but its id is its file name, "004_renamed"/,
      );
    } finally {
      await copy.cleanup();
    }
  });
});
