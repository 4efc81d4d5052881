// npm run migrate -- create <name>, as a separate process: the next number, a snake_case name,
// a skeleton the loader accepts (id from the file name), and refusals that write nothing.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadMigrations } from "../../../scripts/migrate/loader.ts";
import { npmRun } from "../../support/npm-run.ts";
import { copyOfMigrations, runCli } from "./helpers.ts";

// create never connects: an unreachable URI proves it.
const target = (dir: string) => ({ uri: "mongodb://127.0.0.1:9/", dbName: "unused", env: { MIGRATIONS_DIR: dir } });

describe("migrate create", () => {
  it("scaffolds NNN_<snake_name>.ts with the next number; the loader accepts it and up/down throw until written", async () => {
    const copy = await copyOfMigrations();
    try {
      const before = (await loadMigrations(copy.dir)).map((m) => m.id);
      const next = String(Number(before.at(-1)!.slice(0, 3)) + 1).padStart(3, "0");
      const res = await runCli(["create", "Users nick-Names"], target(copy.dir));
      expect(res.code, res.stderr).toBe(0);
      const file = join(copy.dir, `${next}_users_nick_names.ts`);
      expect(res.stdout.trim()).toBe(`created ${file}`);
      const source = await readFile(file, "utf8");
      expect(source).toContain('import type { MigrationContext } from "../scripts/migrate/types.ts";');
      expect(source).not.toMatch(/export const id\b/);
      expect(source).toMatch(/export async function up\(ctx: MigrationContext\)/);
      expect(source).toMatch(/export async function down\(ctx: MigrationContext\)/);

      const loaded = await loadMigrations(copy.dir);
      expect(loaded.map((m) => m.id)).toEqual([...before, `${next}_users_nick_names`]);
      const created = loaded.at(-1)!.migration;
      expect(created.description).toMatch(/^TODO/);
      const ctx = { migrationId: `${next}_users_nick_names` } as Parameters<typeof created.up>[0];
      await expect(created.up(ctx)).rejects.toThrow(`${next}_users_nick_names: up is not written yet`);
      await expect(created.down(ctx)).rejects.toThrow(/down is not written yet/);

      // camelCase and the npm script spelling; numbers keep counting.
      const viaNpm = await npmRun("migrate", ["create", "addAuthCollections"], { env: { MIGRATIONS_DIR: copy.dir } });
      expect(viaNpm.code, viaNpm.stderr).toBe(0);
      const after = String(Number(next) + 1).padStart(3, "0");
      expect(viaNpm.stdout.trim()).toBe(`created ${join(copy.dir, `${after}_add_auth_collections.ts`)}`);
    } finally {
      await copy.cleanup();
    }
  });

  it("refuses bad or taken names and a missing name (exit 1), writing nothing", async () => {
    const copy = await copyOfMigrations();
    try {
      const before = (await readdir(copy.dir)).sort();
      const cases: [string[], RegExp][] = [
        [["create", ""], /bad migration name ""/],
        [["create", "9lives"], /bad migration name "9lives"/],
        [["create", "drop;users"], /bad migration name/],
        [["create", "../escape"], /bad migration name/],
        [["create", "é_accent"], /bad migration name/],
        [["create", "x".repeat(61)], /at most 60/],
        [["create", "unique links"], /a migration named "unique_links" exists already: 008_unique_links\.ts/],
        [["create"], /create takes one name/],
        [["create", "two", "names"], /create takes one name/],
      ];
      for (const [args, message] of cases) {
        const res = await runCli(args, target(copy.dir));
        expect(res.code, args.join(" ")).toBe(1);
        expect(res.stderr).toMatch(message);
        expect(res.stdout).toBe("");
      }
      expect((await readdir(copy.dir)).sort()).toEqual(before);
    } finally {
      await copy.cleanup();
    }
  });
});
