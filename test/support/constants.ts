/** Test-only signing key (≥ 32 bytes). Never used outside the test suite. */
export const TEST_JWT_SECRET = "test-only-jwt-secret-0123456789abcdef-earlybird";
export const TEST_DB_NAME = "earlybird_worker_tests";
