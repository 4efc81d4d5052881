// Ops tools (migrate, links) take the database from the environment with the Worker's rules,
// but an invalid value stops them: they never quietly fall back to the default database.
import { describe, expect, it } from "vitest";
import { DEFAULT_DB_NAME, DEFAULT_MONGODB_URI } from "../../../src/config.ts";
import { opsDatabase } from "../../../scripts/lib/settings.ts";

describe("opsDatabase", () => {
  it("uses MONGODB_URI and DB_NAME from the environment, else the defaults; ignores other settings", () => {
    expect(opsDatabase({ ENVIRONMENT: "production", BCRYPT_COST: "many" })).toEqual({ uri: DEFAULT_MONGODB_URI, dbName: DEFAULT_DB_NAME });
    expect(opsDatabase({ MONGODB_URI: "mongodb://db.example.test:27017/", DB_NAME: "ops_copy" })).toEqual({
      uri: "mongodb://db.example.test:27017/",
      dbName: "ops_copy",
    });
  });

  it("an invalid DB_NAME or MONGODB_URI is an error naming the variable, without its value", () => {
    expect(() => opsDatabase({ DB_NAME: "prod.backup" })).toThrow(/^invalid environment: DB_NAME must be/);
    expect(() => opsDatabase({ MONGODB_URI: "postgres://user:hunter2@db/" })).toThrow(/MONGODB_URI must be/);
    expect(() => opsDatabase({ MONGODB_URI: "postgres://user:hunter2@db/" })).not.toThrow(/hunter2/);
  });
});
