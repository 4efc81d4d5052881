// The routes under attack, discovered from the app itself: every endpoint registered on
// createApp() (so routes merged later are covered without edits), described by /openapi.json
// where it documents them (bearer security, body schema, examples, parameters).
import { exports } from "cloudflare:workers";
import { createApp } from "../../../src/app.ts";
import { BEARER_AUTH_SCHEME } from "../../../src/lib/openapi.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking an arbitrary OpenAPI document
type Json = Record<string, any>;

export interface Operation {
  method: string;
  /** OpenAPI form: /api/phase0-v2/customers/{id} */
  path: string;
  key: string;
  bearer: boolean;
  /** A JSON body schema exists. */
  hasBody: boolean;
  /** Valid-looking bodies to mutate: the documented examples (or {} when there is none). */
  examples: Record<string, unknown>[];
  /** Top-level properties of the body schema, and the required ones. */
  properties: string[];
  required: string[];
  pathParams: string[];
  headerParams: string[];
}

const METHODS = ["get", "put", "post", "delete", "patch"] as const;

function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?\??/g, "{$1}");
}

export async function discoverOperations(): Promise<Operation[]> {
  const res = await exports.default.fetch("http://api.test/openapi.json");
  if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`);
  const doc = (await res.json()) as Json;
  const resolve = (schema: Json | undefined): Json => {
    const ref = schema?.$ref as string | undefined;
    return ref ? (doc.components.schemas[ref.replace("#/components/schemas/", "")] as Json) : (schema ?? {});
  };
  const ops = new Map<string, Operation>();
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const method of METHODS) {
      const op = (item as Json)[method] as Json | undefined;
      if (!op) continue;
      const media = op.requestBody?.content?.["application/json"] as Json | undefined;
      const schema = resolve(media?.schema);
      const examples = [
        ...(media?.example !== undefined ? [media.example] : []),
        ...Object.values((media?.examples ?? {}) as Json).map((e) => (e as Json).value),
        ...(schema.example !== undefined ? [schema.example] : []),
        ...((schema.examples ?? []) as unknown[]),
      ].filter((e): e is Record<string, unknown> => typeof e === "object" && e !== null && !Array.isArray(e));
      const params = (op.parameters ?? []) as Json[];
      ops.set(`${method} ${path}`, {
        method: method.toUpperCase(),
        path,
        key: `${method.toUpperCase()} ${path}`,
        bearer: ((op.security ?? []) as Json[]).some((req) => BEARER_AUTH_SCHEME in req),
        hasBody: media !== undefined,
        examples: examples.length > 0 ? examples : [{}],
        properties: Object.keys((schema.properties ?? {}) as Json),
        required: (schema.required ?? []) as string[],
        pathParams: params.filter((p) => p.in === "path").map((p) => p.name as string),
        headerParams: params.filter((p) => p.in === "header").map((p) => p.name as string),
      });
    }
  }
  // Registered but undocumented endpoints are attacked too (with generic bodies).
  for (const route of createApp().routes) {
    if (route.method === "ALL" && route.path.endsWith("*")) continue;
    const path = openApiPath(route.path);
    const key = `${route.method.toLowerCase()} ${path}`;
    if (ops.has(key)) continue;
    ops.set(key, {
      method: route.method,
      path,
      key: `${route.method} ${path}`,
      bearer: false,
      hasBody: route.method !== "GET",
      examples: [{}],
      properties: [],
      required: [],
      pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!),
      headerParams: [],
    });
  }
  return [...ops.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** encodeURIComponent that survives lone surrogates (encoded as the UTF-8 replacement character). */
export function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, "\uFFFD"));
  }
}

/** The path with its parameters filled in (each value URL-encoded unless `raw`). */
export function fillPath(path: string, values: Record<string, string>, raw = false): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const value = values[name] ?? crypto.randomUUID();
    return raw ? value : encode(value);
  });
}
