// The Worker entry of the worker test projects: the real one (src/index.ts), plus two
// DbGateway subclasses bound only in tests. A Durable Object reads its own bindings, so a
// request's env overrides cannot point the suite's gateway at another database; these can:
//   DB_GATEWAY_PROXIED     → the test database through the controllable TCP proxy
//                            (test/support/proxy-control.ts: down / hang / up, counters);
//                            idle close after 2 s, so that the idle test is short
//   DB_GATEWAY_UNREACHABLE → a port nothing listens on (the "database down" cases)
// Only the database URI differs; the code that runs is DbGateway's.
import { DbGateway } from "../../../src/db/gateway.ts";
import type { Bindings } from "../../../src/env.ts";
import { UNREACHABLE_DB_URI } from "./constants.ts";

export * from "../../../src/index.ts";
export { default } from "../../../src/index.ts";

interface TestBindings extends Bindings {
  PROXIED_MONGODB_URI?: string;
}

export class ProxiedDbGateway extends DbGateway {
  #bindings: Bindings | null = null;
  protected override bindings(): Bindings {
    const env: TestBindings = this.env;
    this.#bindings ??= {
      ...env,
      MONGODB_URI: env.PROXIED_MONGODB_URI,
      MONGODB_SERVER_SELECTION_TIMEOUT_MS: "1500",
      DB_GATEWAY_IDLE_CLOSE_MS: "2000",
    };
    return this.#bindings;
  }
}

export class UnreachableDbGateway extends DbGateway {
  #bindings: Bindings | null = null;
  protected override bindings(): Bindings {
    this.#bindings ??= { ...this.env, MONGODB_URI: UNREACHABLE_DB_URI, MONGODB_SERVER_SELECTION_TIMEOUT_MS: "300" };
    return this.#bindings;
  }
}
