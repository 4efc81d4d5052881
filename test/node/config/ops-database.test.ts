// Ops tools (migrate, links) take the database from the environment with the Worker's
// defaults, but a value that is set is never replaced by a default: they must not quietly work
// on another database than the one they were pointed at (the driver refuses an invalid one).
import { describe, expect, it } from "vitest";
import { opsDatabase } from "../../../scripts/lib/settings.ts";
import { DEFAULT_DB_NAME, DEFAULT_MONGODB_URI } from "../../../src/config.ts";

describe("opsDatabase", () => {
  it("uses MONGODB_URI and DB_NAME from the environment, else the defaults; ignores other settings", () => {
    expect(opsDatabase({ ENVIRONMENT: "production", BCRYPT_COST: "many" })).toEqual({
      uri: DEFAULT_MONGODB_URI,
      dbName: DEFAULT_DB_NAME,
    });
    expect(opsDatabase({ MONGODB_URI: " mongodb://db.example.test:27017/ ", DB_NAME: "ops_copy" })).toEqual({
      uri: "mongodb://db.example.test:27017/",
      dbName: "ops_copy",
    });
  });

  it("an invalid value is passed on as given, never swapped for the default database", () => {
    expect(opsDatabase({ MONGODB_URI: "postgres://nope", DB_NAME: "prod.backup" })).toEqual({
      uri: "postgres://nope",
      dbName: "prod.backup",
    });
  });
});
