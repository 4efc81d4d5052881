// wrangler.toml [vars] holds the deployed values of the non-secret settings; src/config.ts
// holds their rules and defaults. The two must agree: every var is a setting the schema knows,
// valid, and equal to the schema's default (so a Worker without [vars], e.g. under Node or in
// tests, behaves like the deployed one), and no secret sits in [vars].
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSettings, SETTING_NAMES } from "../../../src/config.ts";

const WRANGLER_TOML = join(import.meta.dirname, "..", "..", "..", "wrangler.toml");
const SECRETS = ["JWT_SECRET", "MONGODB_URI", "SMS_WEBHOOK_SECRET", "MSG91_AUTH_KEY"];

interface VarsSection {
  /** KEY = "value" lines. */
  vars: Record<string, string>;
  /** Commented-out examples (`# KEY = "value"`): documented values that must be valid too. */
  examples: Record<string, string>;
}

/**
 * A reader for the one TOML shape [vars] uses: `KEY = "basic string"` lines, comments and
 * blank lines. Anything else is an error, so a var written another way cannot slip past.
 */
// biome-ignore lint/suspicious/noExportsInTest: the doctored-copy cases below reuse the reader
export function readVarsSection(toml: string): VarsSection {
  const section: VarsSection = { vars: {}, examples: {} };
  let inVars = false;
  for (const [index, raw] of toml.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (/^\[/.test(line)) {
      inVars = line === "[vars]";
      continue;
    }
    if (!inVars || line === "") continue;
    const example = /^#\s*([A-Z][A-Z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*")\s*$/.exec(line);
    if (example) {
      section.examples[example[1]!] = JSON.parse(example[2]!) as string;
      continue;
    }
    if (line.startsWith("#")) continue;
    const entry = /^([A-Z][A-Z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*")\s*(#.*)?$/.exec(line);
    if (!entry) throw new Error(`wrangler.toml line ${index + 1}: not a KEY = "string" var: ${line}`);
    if (entry[1]! in section.vars) throw new Error(`wrangler.toml line ${index + 1}: ${entry[1]} set twice`);
    section.vars[entry[1]!] = JSON.parse(entry[2]!) as string;
  }
  return section;
}

/** Every way [vars] disagrees with the schema, in words; [] when they agree. */
// biome-ignore lint/suspicious/noExportsInTest: as readVarsSection
export function varsDisagreements(toml: string): string[] {
  const { vars, examples } = readVarsSection(toml);
  const known = new Set<string>(SETTING_NAMES);
  const out: string[] = [];
  for (const name of [...Object.keys(vars), ...Object.keys(examples)])
    if (!known.has(name)) out.push(`${name} is not a setting of src/config.ts`);
  for (const name of Object.keys(vars))
    if (SECRETS.includes(name)) out.push(`${name} is a secret: wrangler secret put, not [vars]`);
  const parsed = parseSettings(vars);
  out.push(...parsed.problems);
  const defaults = parseSettings({}).settings;
  for (const name of SETTING_NAMES) {
    if (!(name in vars) || SECRETS.includes(name)) continue; // a secret's value is never repeated
    if (JSON.stringify(parsed.settings[name]) !== JSON.stringify(defaults[name])) {
      out.push(`${name} = ${JSON.stringify(vars[name])} differs from the schema default ${JSON.stringify(defaults[name])}`);
    }
  }
  for (const [name, value] of Object.entries(examples)) {
    for (const problem of parseSettings({ [name]: value }).problems) out.push(`example ${problem}`);
  }
  return out;
}

describe("wrangler.toml [vars] against the configuration schema", () => {
  const toml = readFileSync(WRANGLER_TOML, "utf8");

  it("every var is a known, valid setting equal to the schema default; no secret in [vars]", () => {
    expect(Object.keys(readVarsSection(toml).vars).length).toBeGreaterThan(10);
    expect(varsDisagreements(toml)).toEqual([]);
  });

  it("the check catches a changed value, an unknown var, a secret, an invalid value and a bad example", () => {
    const doctored = toml
      .replace(/^DB_GATEWAY_SHARDS = "4"$/m, 'DB_GATEWAY_SHARDS = "8"')
      .replace(/^BCRYPT_COST = "10"$/m, 'BCRYPT_COST = "ten"')
      .replace(/^\[vars\]$/m, '[vars]\nDB_SHARDZ = "1"\nJWT_SECRET = "x"\n# DB_ACCESS = "sideways"');
    expect(varsDisagreements(doctored)).toEqual([
      "DB_SHARDZ is not a setting of src/config.ts",
      "JWT_SECRET is a secret: wrangler secret put, not [vars]",
      "BCRYPT_COST must be an integer from 4 to 15",
      'DB_GATEWAY_SHARDS = "8" differs from the schema default 4',
      "example DB_ACCESS must be one of gateway, direct",
    ]);
  });

  it("a var written in another TOML form is refused, not skipped", () => {
    expect(() => readVarsSection("[vars]\nDB_GATEWAY_SHARDS = 4\n")).toThrow(/line 2: not a KEY = "string" var/);
  });
});
