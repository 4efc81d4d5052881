// A migration's checksum covers the file and every local module it imports (transitively), so
// editing a helper such as scripts/migrate/link-plan.ts is caught like editing the migration.
import { appendFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checksumOf, loadMigrations, migrationChecksum } from "../../../scripts/migrate/loader.ts";
import { runMigrations } from "../../../scripts/migrate/runner.ts";
import { copyOfMigrations, fixtureDb, LINK_MIGRATION, useServer } from "./helpers.ts";

const h = useServer();

describe("migration checksums", () => {
  it("change when a module imported transitively changes, and not for a CRLF checkout", async () => {
    const base = await mkdtemp(join(tmpdir(), "checksum-"));
    try {
      await mkdir(join(base, "migrations"));
      await mkdir(join(base, "lib"));
      const migration = join(base, "migrations", "001_x.ts");
      await writeFile(
        migration,
        'import { a } from "../lib/a.ts";\nimport type { T } from "../lib/types.ts";\nexport const x = a;\n',
      );
      await writeFile(join(base, "lib", "a.ts"), 'export { b as a } from "./b.ts";\nimport "node:fs";\n');
      await writeFile(join(base, "lib", "b.ts"), "export const b = 1;\n");
      await writeFile(join(base, "lib", "types.ts"), "export type T = number;\n");
      const first = await migrationChecksum(migration);
      expect(first.imports).toEqual(["../lib/a.ts", "../lib/b.ts", "../lib/types.ts"]);
      expect(first.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(first.checksum).not.toBe(
        checksumOf('import { a } from "../lib/a.ts";\nimport type { T } from "../lib/types.ts";\nexport const x = a;\n'),
      );

      await writeFile(join(base, "lib", "b.ts"), "export const b = 1;\r\n");
      expect((await migrationChecksum(migration)).checksum).toBe(first.checksum);
      await writeFile(join(base, "lib", "b.ts"), "export const b = 2;\n");
      expect((await migrationChecksum(migration)).checksum).not.toBe(first.checksum);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it("of 002 cover the back-fill rules in scripts/migrate/link-plan.ts", async () => {
    const link = (await loadMigrations()).find((f) => f.id === LINK_MIGRATION)!;
    expect(link.imports).toContain("../scripts/migrate/link-plan.ts");
    expect(link.checksum).not.toBe(link.fileChecksum);
  });

  it("editing link-plan.ts after 002 was applied is reported as a change of 002; an entry recorded before imports were covered still passes", async () => {
    const copy = await copyOfMigrations({ copyScripts: true });
    try {
      const { db, target } = await fixtureDb(h, "helperedit");
      expect((await runMigrations({ ...target, command: "up", to: "002", migrationsDir: copy.dir, log: null })).exit_code).toBe(
        0,
      );
      const clean = await runMigrations({ ...target, command: "status", migrationsDir: copy.dir, log: null });
      expect(clean.checksum_mismatches).toEqual([]);

      // A changelog entry written by the runner before checksums covered imports: the file's own hash.
      const [baseline] = await loadMigrations(copy.dir);
      await db
        .collection("migrations_changelog")
        .updateOne({ _id: baseline!.id as never }, { $set: { checksum: baseline!.fileChecksum } });
      expect(
        (await runMigrations({ ...target, command: "status", migrationsDir: copy.dir, log: null })).status![0]!.checksum,
      ).toBe("ok");

      await appendFile(join(copy.dir, "..", "scripts", "migrate", "link-plan.ts"), "\n// a rule changed after 002 was applied\n");
      const status = await runMigrations({ ...target, command: "status", migrationsDir: copy.dir, log: null });
      expect(status.checksum_mismatches).toEqual([LINK_MIGRATION]);
      const up = await runMigrations({ ...target, command: "up", migrationsDir: copy.dir, log: null });
      expect(up.exit_code).toBe(2);
      expect(up.message).toContain(`${LINK_MIGRATION} (mismatch)`);
    } finally {
      await copy.cleanup();
    }
  });
});
