import { createApp } from "./app.ts";

export { createApp };
export type { AppEnv } from "./env.ts";

export default createApp();
