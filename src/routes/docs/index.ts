import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../env.ts";
import { BEARER_AUTH_SCHEME, ErrorSchema } from "../../lib/openapi.ts";
import { buildOpenApiDocument } from "./document.ts";
import { renderReferencePage } from "./page.ts";

export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";

const openApiRoute = createRoute({
  method: "get",
  path: OPENAPI_PATH,
  tags: ["docs"],
  summary: "This OpenAPI 3.1 document",
  responses: {
    200: {
      description: "The OpenAPI document, generated from the zod schemas the routes validate with",
      content: { "application/json": { schema: z.object({ openapi: z.string() }).passthrough() } },
    },
  },
});

const docsRoute = createRoute({
  method: "get",
  path: DOCS_PATH,
  tags: ["docs"],
  summary: "Interactive API reference for this document (self-contained: works offline)",
  responses: {
    200: { description: "HTML page rendering /openapi.json", content: { "text/html": { schema: z.string() } } },
  },
});

/**
 * Serves GET /openapi.json and GET /docs for every route registered on `app`. Call it after
 * the other routes; the document is built on first request and kept for the isolate's life.
 */
export function registerDocs(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", BEARER_AUTH_SCHEME, {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "Access token from POST /api/auth/login, sent as `Authorization: Bearer <token>`.",
  });
  app.openAPIRegistry.register("Error", ErrorSchema);

  let document: ReturnType<typeof buildOpenApiDocument> | null = null;
  let page: string | null = null;
  const openApiDocument = () => {
    document ??= buildOpenApiDocument(app);
    return document;
  };
  app.openapi(openApiRoute, (c) => c.json(openApiDocument(), 200));
  app.openapi(docsRoute, (c) => {
    page ??= renderReferencePage(openApiDocument(), { title: "EarlyBird API", specPath: OPENAPI_PATH });
    return c.html(page, 200);
  });
}
