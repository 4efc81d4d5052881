/** A MongoDB URI nothing listens on (port 9, discard), for "database unreachable" cases. */
export const UNREACHABLE_DB_URI = "mongodb://127.0.0.1:9/?directConnection=true";
