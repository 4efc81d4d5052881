import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

type Json = Record<string, any>;
const METHODS = ["get", "put", "post", "delete", "patch"] as const;

let html: string;
let doc: Json;

beforeAll(async () => {
  const res = await exports.default.fetch("http://api.test/docs");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  expect(res.headers.get("x-request-id")).toBeTruthy();
  html = await res.text();
  doc = (await (await exports.default.fetch("http://api.test/openapi.json")).json()) as Json;
});

/** What the page shows for a text: the same HTML escaping the page applies. */
function shown(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

describe("GET /docs", () => {
  it("is a self-contained page: nothing is loaded from another origin, so it works offline", () => {
    expect(html).toContain("<title>EarlyBird API</title>");
    // No external scripts, styles, images, frames or fonts: every src/href is same-origin or a fragment.
    const urls = [...html.matchAll(/\b(?:src|href|action)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1] ?? "");
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url, url).toMatch(/^(#|\/(?!\/))/);
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).not.toMatch(/<link[^>]*\brel=["']?stylesheet/i);
    expect(html).not.toMatch(/@import|url\(\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/\bimport\s*\(/);
  });

  it("renders the document the API serves: every operation with its summary, a link to /openapi.json", () => {
    expect(html).toContain('href="/openapi.json"');
    const operations = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
      METHODS.filter((m) => (item as Json)[m]).map((m) => ({ method: m, path, op: (item as Json)[m] as Json })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(6);
    for (const { method, path, op } of operations) {
      const heading = `<span class="method ${method}">${method.toUpperCase()}</span> <code>${shown(path)}</code>`;
      expect(html, `${method} ${path}`).toContain(heading);
      expect(html, `${method} ${path} summary`).toContain(shown(op.summary as string));
    }
  });

  it("lists request fields, their requirement and the example body of each documented request", () => {
    const op = doc.paths["/api/phase0-v2/customers"].post as Json;
    const start = html.indexOf('id="post-api-phase0-v2-customers"');
    expect(start).toBeGreaterThan(-1);
    const section = html.slice(start, html.indexOf("</section>", start));
    const ref = op.requestBody.content["application/json"].schema.$ref as string | undefined;
    const schema = ref
      ? (doc.components.schemas[ref.split("/").pop() as string] as Json)
      : (op.requestBody.content["application/json"].schema as Json);
    for (const field of Object.keys(schema.properties as Json)) {
      expect(section, field).toContain(`<code class="field">${field}</code>`);
    }
    for (const field of schema.required as string[]) {
      expect(section).toMatch(
        new RegExp(`<code class="field">${field}</code> <span class="type">[^<]*</span> <span class="required">required</span>`),
      );
    }
    // The login example the schema declares is shown as the request example and pre-filled in "Try it".
    const login = doc.paths["/api/auth/login"].post.requestBody.content["application/json"] as Json;
    const loginSchema = login.schema.$ref ? doc.components.schemas[login.schema.$ref.split("/").pop()] : login.schema;
    const example = login.example ?? loginSchema.example ?? loginSchema.examples?.[0];
    expect(example).toBeDefined();
    expect(html).toContain(shown(JSON.stringify(example, null, 2)));
  });
});
