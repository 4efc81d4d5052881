import { createApp } from "./app.ts";

/** The Durable Object that keeps MongoDB warm (bound as DB_GATEWAY in wrangler.toml). */
export { DbGateway } from "./db/gateway.ts";
export type { AppEnv } from "./env.ts";
export { createApp };

export default createApp();
