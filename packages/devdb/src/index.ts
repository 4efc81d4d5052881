// @earlybird/devdb: the embedded MongoDB-wire-compatible server (see ../README.md).
export { type RunningServer, type StartOptions, type StepDownInfo, type StepDownOptions, startServer } from "./server.ts";
export type { Stats } from "./state.ts";
