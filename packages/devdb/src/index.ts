// @earlybird/devdb: the embedded MongoDB-wire-compatible server (see ../README.md).
export { startServer, type RunningServer, type StartOptions, type StepDownInfo, type StepDownOptions } from "./server.ts";
export type { Stats } from "./state.ts";
