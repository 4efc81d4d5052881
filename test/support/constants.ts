/** Test-only signing key (≥ 32 bytes). Never used outside the test suite. */
export const TEST_JWT_SECRET = "test-only-jwt-secret-0123456789abcdef-earlybird";
export const TEST_DB_NAME = "earlybird_worker_tests";
export const RELIABILITY_DB_NAME = "earlybird_reliability_tests";
/** "full" (npm run test:reliability) or "bounded" (npm test): how many generated requests, how long the load runs. */
export const RELIABILITY_MODE = process.env.RELIABILITY_MODE === "full" ? "full" : "bounded";
