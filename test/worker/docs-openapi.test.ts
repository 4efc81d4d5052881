import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ZodType } from "zod";
import { createApp } from "../../src/app.ts";
import { ErrorSchema } from "../../src/lib/openapi.ts";

type Json = Record<string, any>;
const METHODS = ["get", "put", "post", "delete", "patch"] as const;
const ERROR_REF = "#/components/schemas/Error";

/** The app exactly as the Worker builds it: its registered routes are the source of truth. */
const app = createApp();
let doc: Json;

/** `/customers/:id` and `/customers/:id{[0-9]+}` are `/customers/{id}` in OpenAPI. */
function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?\??/g, "{$1}");
}

/** Every endpoint (not middleware: `use()` registers method ALL on a `*` path) as "METHOD /path". */
function registeredEndpoints(): string[] {
  const endpoints = app.routes
    .filter((route) => !(route.method === "ALL" && route.path.endsWith("*")))
    .map((route) => `${route.method.toLowerCase()} ${openApiPath(route.path)}`);
  return [...new Set(endpoints)].sort();
}

function documentedOperations(): { key: string; method: string; path: string; op: Json }[] {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    METHODS.filter((method) => (item as Json)[method]).map((method) => ({
      key: `${method} ${path}`,
      method,
      path,
      op: (item as Json)[method] as Json,
    })),
  );
}

function resolve(schema: Json): Json {
  const ref = schema.$ref as string | undefined;
  if (!ref) return schema;
  const name = ref.replace("#/components/schemas/", "");
  return doc.components.schemas[name] as Json;
}

/** Explicit examples a reader (or the docs page) sees for a JSON request body. */
function requestExamples(op: Json): unknown[] {
  const media = op.requestBody?.content?.["application/json"] as Json | undefined;
  if (!media) return [];
  const schema = resolve((media.schema ?? {}) as Json);
  return [
    ...(media.example !== undefined ? [media.example] : []),
    ...Object.values((media.examples ?? {}) as Json).map((e) => (e as Json).value),
    ...(schema.example !== undefined ? [schema.example] : []),
    ...((schema.examples ?? []) as unknown[]),
  ];
}

/** The zod schema the route validates its JSON body with (same object that generated the doc). */
function bodyValidator(method: string, path: string): ZodType {
  for (const def of app.openAPIRegistry.definitions as Json[]) {
    if (def.type === "route" && def.route.method === method && openApiPath(def.route.path) === path) {
      const schema = def.route.request?.body?.content?.["application/json"]?.schema as ZodType | undefined;
      if (schema) return schema;
    }
  }
  throw new Error(`no JSON body validator registered for ${method} ${path}`);
}

function concretePath(path: string): string {
  return path.replace(/\{[^}]+\}/g, "3f2457cd-a177-4b6e-847e-1bcd103f3569");
}

beforeAll(async () => {
  const res = await exports.default.fetch("http://api.test/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  doc = (await res.json()) as Json;
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document for this API", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "EarlyBird API" });
    expect(typeof doc.info.version).toBe("string");
  });

  it("documents every route registered on the app, and nothing that is not registered", () => {
    const registered = registeredEndpoints();
    // The walk must see the real routes, or the check below would hold vacuously.
    expect(registered).toEqual(expect.arrayContaining(["get /health", "get /openapi.json", "get /docs"]));
    const documented = documentedOperations()
      .map((o) => o.key)
      .sort();
    expect(
      registered.filter((e) => !documented.includes(e)),
      "registered but undocumented",
    ).toEqual([]);
    expect(
      documented.filter((e) => !registered.includes(e)),
      "documented but not registered",
    ).toEqual([]);
  });

  it("gives every operation a summary, a success response and the error envelope", () => {
    for (const { key, op } of documentedOperations()) {
      expect(op.summary, key).toEqual(expect.any(String));
      const statuses = Object.keys(op.responses ?? {});
      expect(
        statuses.some((s) => /^2\d\d$/.test(s)),
        `${key} has a 2xx response`,
      ).toBe(true);
      expect(op.responses.default?.content?.["application/json"]?.schema?.$ref, `${key} default`).toBe(ERROR_REF);
      for (const status of statuses.filter((s) => /^4\d\d$/.test(s))) {
        const schema = op.responses[status].content?.["application/json"]?.schema as Json | undefined;
        expect(schema?.$ref, `${key} ${status} uses the error envelope`).toBe(ERROR_REF);
      }
    }
  });

  it("describes the error envelope, and real error answers match it", async () => {
    const envelope = resolve({ $ref: ERROR_REF });
    expect(envelope.required).toContain("error");
    expect(resolve(envelope.properties.error).required).toEqual(expect.arrayContaining(["code", "message"]));

    const notFound = await exports.default.fetch("http://api.test/no/such/route");
    expect(ErrorSchema.safeParse(await notFound.json()).success).toBe(true);
    const invalid = await exports.default.fetch("http://api.test/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ unexpected: true }),
    });
    expect(invalid.status).toBe(422);
    const body = (await invalid.json()) as Json;
    expect(ErrorSchema.safeParse(body).success).toBe(true);
    expect(body.error.code).toBe("validation_error");
  });

  it("declares the bearer scheme, exactly on the operations that refuse a request without a token", async () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
    let secured = 0;
    for (const { key, method, path, op } of documentedOperations()) {
      const declares = ((op.security ?? []) as Json[]).some((req) => "bearerAuth" in req);
      const res = await exports.default.fetch(`http://api.test${concretePath(path)}`, {
        method: method.toUpperCase(),
        ...(method === "get" ? {} : { headers: { "content-type": "application/json" }, body: "{}" }),
      });
      await res.arrayBuffer();
      expect(res.status === 401, `${key}: documented auth matches behaviour (got ${res.status})`).toBe(declares);
      if (declares) {
        secured++;
        expect(op.responses["401"], `${key} documents 401`).toBeDefined();
      }
    }
    expect(secured).toBeGreaterThan(0);
  });

  it("gives every JSON request body an example that the route's own validator accepts", () => {
    let checked = 0;
    for (const { key, method, path, op } of documentedOperations()) {
      if (!op.requestBody?.content?.["application/json"]) continue;
      const examples = requestExamples(op);
      expect(examples.length, `${key} has a request example`).toBeGreaterThan(0);
      const validator = bodyValidator(method, path);
      for (const example of examples) {
        const result = validator.safeParse(example);
        expect(result.success, `${key} example ${JSON.stringify(example)}: ${result.error?.message ?? ""}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("sends the example of each public operation through the API without a validation error", async () => {
    let sent = 0;
    for (const { key, method, path, op } of documentedOperations()) {
      if (op.security?.length || !op.requestBody) continue;
      for (const example of requestExamples(op)) {
        const res = await exports.default.fetch(`http://api.test${concretePath(path)}`, {
          method: method.toUpperCase(),
          headers: { "content-type": "application/json" },
          body: JSON.stringify(example),
        });
        const body = (await res.json()) as Json;
        expect(res.status, `${key}: ${JSON.stringify(body)}`).not.toBe(422);
        sent++;
      }
    }
    expect(sent).toBeGreaterThan(0);
  });
});
