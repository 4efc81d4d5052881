// Options for migrations reach them generically as ctx.options: `--opt key=value`, or any flag the
// runner does not know (`--unset-all-links`, the documented spelling for the down of 002). Each must
// be declared by a migration (its `options` export) for the command: typos and misuse exit 1.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyOfMigrations, expectedWrites, fixtureDb, migrate, runCli, useServer, wholeDatabase } from "./helpers.ts";

const h = useServer();

const ECHO_MIGRATION = `import type { MigrationContext, MigrationOptionSpec } from "../scripts/migrate/types.ts";
export const description = "returns the options it was given";
export const options: Record<string, MigrationOptionSpec> = {
  "batch-size": { type: "string", commands: ["up"], description: "documents per batch" },
  verify: { type: "boolean", commands: ["up", "down"], description: "check afterwards" },
};
export async function up(ctx: MigrationContext) {
  return { options: { ...ctx.options } };
}
export async function down(ctx: MigrationContext) {
  return { options: { ...ctx.options } };
}
`;

describe("options for migrations", () => {
  it("--opt key=value and unknown --flags reach the migration as ctx.options; --help lists the declared ones", async () => {
    const copy = await copyOfMigrations();
    try {
      await writeFile(join(copy.dir, "003_echo_options.ts"), ECHO_MIGRATION);
      const { target } = await fixtureDb(h, "opts");
      const env = { MIGRATIONS_DIR: copy.dir };
      const res = await runCli(["up", "--to", "003", "--dry-run", "--json", "--opt", "batch-size=500", "--verify"], {
        ...target,
        env,
      });
      expect(res.code, res.stderr).toBe(0);
      expect(res.report.migrations.find((m) => m.id === "003_echo_options")!.summary).toEqual({
        options: { "batch-size": "500", verify: true },
      });
      const spelled = await runCli(["up", "--to", "003", "--dry-run", "--json", "--batch-size=7", "--opt=verify"], {
        ...target,
        env,
      });
      expect(spelled.report.migrations.at(-1)!.summary).toEqual({ options: { "batch-size": "7", verify: true } });
      const none = await runCli(["up", "--to", "003", "--dry-run", "--json"], { ...target, env });
      expect(none.report.migrations.at(-1)!.summary).toEqual({ options: {} });

      const help = await runCli(["--help"], { ...target, env });
      expect(help.stdout).toMatch(/--batch-size=VALUE \(up of 003_echo_options\): documents per batch/);
      expect(help.stdout).toMatch(/--unset-all-links \(down of 002_link_users_customers\)/);
    } finally {
      await copy.cleanup();
    }
  });

  it("an undeclared option, one for another command, or a value of the wrong type exits 1 before anything runs", async () => {
    const copy = await copyOfMigrations();
    try {
      await writeFile(join(copy.dir, "003_echo_options.ts"), ECHO_MIGRATION);
      const { db, target } = await fixtureDb(h, "optsbad");
      const before = await wholeDatabase(db);
      const env = { MIGRATIONS_DIR: copy.dir };
      const cases: [string[], RegExp][] = [
        [
          ["up", "--frobnicate"],
          /unknown option --frobnicate: no migration declares it \(migration options: .*--batch-size \(up of 003_echo_options\)/,
        ],
        [["up", "--opt", "nope=1"], /unknown option --nope/],
        [["up", "--unset-all-links"], /--unset-all-links only applies to down \(002_link_users_customers\)/],
        [["down", "--batch-size=3"], /--batch-size only applies to up/],
        [["up", "--batch-size"], /--batch-size needs a value/],
        [["up", "--verify=yes"], /--verify takes no value/],
        [["up", "--opt"], /--opt needs KEY/],
        [["up", "--opt", "Bad Name=1"], /bad option name/],
      ];
      for (const [args, message] of cases) {
        const res = await runCli(args, { ...target, env });
        expect(res.code, args.join(" ")).toBe(1);
        expect(res.stderr, args.join(" ")).toMatch(message);
      }
      expect(await wholeDatabase(db)).toEqual(before);
    } finally {
      await copy.cleanup();
    }
  });

  it("--unset-all-links (the documented spelling) still reaches the down of 002", async () => {
    const { db, target } = await fixtureDb(h, "optsunset");
    await migrate(target, "up", "002");
    const before = await wholeDatabase(db);
    const dry = await runCli(["down", "--unset-all-links", "--dry-run", "--json"], target);
    expect(dry.code, dry.stderr).toBe(0);
    const customers = await db.collection("customers_v2").countDocuments({ user_id: { $exists: true } });
    const users = await db.collection("users").countDocuments({ customer_v2_id: { $exists: true } });
    // More than the back-fill wrote: every link field, including those that existed before.
    expect(customers).toBeGreaterThan(expectedWrites().customers);
    expect(dry.report.migrations[0]!.summary).toMatchObject({ mode: "unset_all_links", would_unset: { customers, users } });
    expect(await wholeDatabase(db)).toEqual(before);

    const real = await runCli(["down", "--opt", "unset-all-links", "--json"], target);
    expect(real.code, real.stderr).toBe(0);
    expect(real.report.migrations[0]!.summary).toMatchObject({ mode: "unset_all_links", unset: { customers, users } });
    expect(await db.collection("customers_v2").countDocuments({ user_id: { $exists: true } })).toBe(0);
  });
});
