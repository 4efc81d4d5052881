// The configuration schema's rules that the Worker tests do not reach one by one (those go
// through HTTP in test/worker/auth-config.test.ts).
import { describe, expect, it } from "vitest";
import { configFrom } from "../../../src/config.ts";

const strongSecret = "s".repeat(32);
const completeProduction = {
  ENVIRONMENT: "production",
  MONGODB_URI: "mongodb://db.example.test:27017/",
  JWT_SECRET: strongSecret,
  SMS_PROVIDER: "msg91",
  MSG91_AUTH_KEY: "key",
  MSG91_TEMPLATE_ID: "tmpl",
};

describe("configFrom", () => {
  it("a blank value counts as unset; values are trimmed and lists split", () => {
    const config = configFrom({
      DB_NAME: "  ",
      LOG_LEVEL: " DEBUG ",
      CORS_ORIGINS: " https://a.example.test , * ,",
      BCRYPT_COST: " 12 ",
    });
    expect(config.dbName).toBe("earlybird_delivery");
    expect(config.logLevel).toBe("debug");
    expect(config.corsOrigins).toEqual(["https://a.example.test", "*"]);
    expect(config.bcryptCost).toBe(12);
    expect(config.problems).toEqual([]);
  });

  it("ENVIRONMENT is compared without case or spaces: ' Production ' is strict", () => {
    const config = configFrom({ ...completeProduction, ENVIRONMENT: " Production " });
    expect(config.environment).toBe("production");
    expect(config.misconfigured).toBe(false);
    expect(configFrom({ ...completeProduction, ENVIRONMENT: " Production ", JWT_SECRET: "" }).misconfigured).toBe(true);
  });

  it("a complete production configuration has no problems; production never keeps the test clock or a local database", () => {
    expect(configFrom(completeProduction).problems).toEqual([]);
    const broken = configFrom({ ...completeProduction, MONGODB_URI: "", TEST_CLOCK: "1" });
    expect(broken.testClock).toBe(false);
    expect(broken.mongodbUri).toBe("");
    expect(broken.problems).toEqual([
      "MONGODB_URI is not set (required in production)",
      "TEST_CLOCK=1 is refused when ENVIRONMENT=production",
    ]);
  });

  it("outside production an unknown SMS_PROVIDER is reported and keeps the one-time-code routes shut (no silent console)", () => {
    const config = configFrom({ SMS_PROVIDER: "carrier-pigeon" });
    expect(config.misconfigured).toBe(false);
    expect(config.problems).toEqual(["SMS_PROVIDER must be one of console, webhook, msg91"]);
    expect(config.smsProblem).toBe("SMS_PROVIDER must be one of console, webhook, msg91");
  });

  it("problems never hold a value", () => {
    const secret = "short-but-secret";
    const config = configFrom({
      ...completeProduction,
      JWT_SECRET: secret,
      MONGODB_URI: "http://user:pw-123@db/",
      MSG91_BASE_URL: "ftp://x",
    });
    expect(config.problems.length).toBe(3);
    const text = config.problems.join("\n");
    for (const value of [secret, "pw-123", "ftp://x"]) expect(text).not.toContain(value);
  });
});
