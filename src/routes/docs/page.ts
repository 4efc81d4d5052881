/**
 * The /docs page: the OpenAPI document rendered to HTML by the Worker itself. Everything the
 * page needs (styles, the small "try it" script) is inline, so it works offline and loads
 * nothing from any other origin.
 */

type Json = { [key: string]: unknown };

const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "options", "head", "trace"] as const;
/** Nesting shown for request/response schemas; deeper levels are summarised by their type. */
const MAX_DEPTH = 6;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function obj(value: unknown): Json {
  return isObject(value) ? value : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The small Markdown subset the descriptions use: paragraphs, line breaks, **bold**, `code`. */
function markdown(source: string): string {
  return source
    .split(/\n{2,}/)
    .map((paragraph) => {
      const html = escapeHtml(paragraph.trim())
        .replace(/`([^`]+)`/g, "<code>$1</code>")
        .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
        .replace(/\n/g, "<br>");
      return html ? `<p>${html}</p>` : "";
    })
    .join("");
}

class SchemaRenderer {
  private readonly components: Json;

  constructor(components: Json) {
    this.components = components;
  }

  resolve(schema: Json): { schema: Json; name: string | null } {
    const ref = text(schema.$ref);
    if (!ref.startsWith("#/components/schemas/")) return { schema, name: null };
    const name = ref.slice("#/components/schemas/".length);
    return { schema: obj(obj(this.components.schemas)[name]), name };
  }

  /** A one-line type: `string (email)`, `array of Customer`, `"a" | "b"`, `… | null`. */
  typeLabel(raw: Json): string {
    const { schema, name } = this.resolve(raw);
    if (name) return name;
    const variants = list(schema.anyOf ?? schema.oneOf);
    if (variants.length > 0) return variants.map((v) => this.typeLabel(obj(v))).join(" | ");
    if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    const types = Array.isArray(schema.type) ? schema.type.map(String) : [text(schema.type) || "any"];
    return types
      .map((type) => {
        if (type === "array") return `array of ${this.typeLabel(obj(schema.items))}`;
        const format = text(schema.format);
        return format ? `${type} (${format})` : type;
      })
      .join(" | ");
  }

  constraints(schema: Json): string[] {
    const out: string[] = [];
    const pairs: [string, string][] = [
      ["minLength", "min length"],
      ["maxLength", "max length"],
      ["minimum", "≥"],
      ["exclusiveMinimum", ">"],
      ["maximum", "≤"],
      ["exclusiveMaximum", "<"],
      ["minItems", "min items"],
      ["maxItems", "max items"],
      ["pattern", "pattern"],
      ["default", "default"],
    ];
    for (const [key, label] of pairs) {
      if (schema[key] !== undefined)
        out.push(`${label} ${typeof schema[key] === "string" && key !== "default" ? schema[key] : JSON.stringify(schema[key])}`);
    }
    return out;
  }

  /** The properties of an object schema (following $ref, allOf and a non-null anyOf member). */
  objectParts(raw: Json, seen: Set<string>): { properties: Json; required: string[] } | null {
    const { schema, name } = this.resolve(raw);
    if (name && seen.has(name)) return null;
    const nextSeen = name ? new Set([...seen, name]) : seen;
    if (isObject(schema.properties)) {
      return { properties: schema.properties, required: list(schema.required).map(String) };
    }
    if (Array.isArray(schema.allOf)) {
      const merged = { properties: {} as Json, required: [] as string[] };
      for (const part of schema.allOf) {
        const parts = this.objectParts(obj(part), nextSeen);
        if (parts) {
          Object.assign(merged.properties, parts.properties);
          merged.required.push(...parts.required);
        }
      }
      return Object.keys(merged.properties).length > 0 ? merged : null;
    }
    const variants = list(schema.anyOf ?? schema.oneOf).map(obj);
    const nonNull = variants.filter((v) => v.type !== "null");
    if (nonNull.length === 1 && nonNull[0]) return this.objectParts(nonNull[0], nextSeen);
    if (schema.type === "array") return this.objectParts(obj(schema.items), nextSeen);
    return null;
  }

  /** A nested field list for an object schema, or its one-line type otherwise. */
  render(raw: Json, depth = 0, seen: Set<string> = new Set()): string {
    const parts = depth < MAX_DEPTH ? this.objectParts(raw, seen) : null;
    if (!parts) return `<p class="type">${escapeHtml(this.typeLabel(raw))}</p>`;
    const { name } = this.resolve(raw);
    const nextSeen = name ? new Set([...seen, name]) : seen;
    const rows = Object.entries(parts.properties).map(([field, value]) => {
      const property = obj(value);
      const resolved = this.resolve(property).schema;
      const description = text(property.description) || text(resolved.description);
      const notes = this.constraints(resolved)
        .map((c) => `<span class="note">${escapeHtml(c)}</span>`)
        .join(" ");
      const nested = this.objectParts(property, nextSeen) ? this.render(property, depth + 1, nextSeen) : "";
      return (
        `<li><code class="field">${escapeHtml(field)}</code> <span class="type">${escapeHtml(this.typeLabel(property))}</span>` +
        (parts.required.includes(field) ? ' <span class="required">required</span>' : "") +
        (notes ? ` ${notes}` : "") +
        (description ? `<div class="desc">${markdown(description)}</div>` : "") +
        nested +
        "</li>"
      );
    });
    return `<ul class="fields">${rows.join("")}</ul>`;
  }
}

function exampleOf(media: Json, schema: Json): unknown {
  if (media.example !== undefined) return media.example;
  const first = Object.values(obj(media.examples))[0];
  if (isObject(first) && first.value !== undefined) return first.value;
  if (schema.example !== undefined) return schema.example;
  return list(schema.examples)[0];
}

function renderOperation(renderer: SchemaRenderer, method: string, path: string, op: Json): string {
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
  const secured = list(op.security).length > 0;
  const parameters = list(op.parameters).map(obj);
  const body = obj(obj(obj(op.requestBody).content)["application/json"]);
  const bodySchema = renderer.resolve(obj(body.schema)).schema;
  const example = Object.keys(body).length > 0 ? exampleOf(body, bodySchema) : undefined;
  const exampleJson = example === undefined ? "" : JSON.stringify(example, null, 2);

  const paramRows = parameters.map((p) => {
    const schema = obj(p.schema);
    const description = text(p.description) || text(schema.description);
    return (
      `<tr><td><code>${escapeHtml(text(p.name))}</code></td><td>${escapeHtml(text(p.in))}</td>` +
      `<td>${escapeHtml(renderer.typeLabel(schema))}${p.required ? ' <span class="required">required</span>' : ""}</td>` +
      `<td>${markdown(description)}</td></tr>`
    );
  });
  const responses = Object.entries(obj(op.responses)).map(([status, value]) => {
    const response = obj(value);
    const media = obj(obj(response.content)["application/json"]);
    const schema = obj(media.schema);
    const isError = text(schema.$ref) === "#/components/schemas/Error";
    const detail =
      Object.keys(schema).length > 0 && !isError ? `<details><summary>body</summary>${renderer.render(schema)}</details>` : "";
    return `<li><span class="status s${escapeHtml(status.charAt(0))}">${escapeHtml(status)}</span> ${markdown(text(response.description))}${detail}</li>`;
  });

  const pathInputs = parameters
    .filter((p) => p.in === "path" || p.in === "header")
    .map(
      (p) =>
        `<label>${escapeHtml(text(p.name))} <input data-in="${escapeHtml(text(p.in))}" data-name="${escapeHtml(text(p.name))}"></label>`,
    )
    .join(" ");
  const tryIt =
    `<details class="try"><summary>Try it</summary><form data-method="${method.toUpperCase()}" data-path="${escapeHtml(path)}">` +
    pathInputs +
    (Object.keys(body).length > 0 ? `<textarea name="body" rows="8">${escapeHtml(exampleJson)}</textarea>` : "") +
    `<button type="submit">Send</button><pre class="result" hidden></pre></form></details>`;

  return (
    `<section class="op" id="${id}"><h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code>` +
    (secured ? ' <span class="lock" title="Requires Authorization: Bearer &lt;token&gt;">bearer token</span>' : "") +
    `</h3><p class="summary">${escapeHtml(text(op.summary))}</p>` +
    markdown(text(op.description)) +
    (paramRows.length > 0
      ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr>${paramRows.join("")}</table>`
      : "") +
    (Object.keys(body).length > 0 ? `<h4>Request body</h4>${renderer.render(obj(body.schema))}` : "") +
    (exampleJson ? `<h4>Example</h4><pre>${escapeHtml(exampleJson)}</pre>` : "") +
    `<h4>Responses</h4><ul class="responses">${responses.join("")}</ul>` +
    tryIt +
    "</section>"
  );
}

/** Sends a "Try it" form with the token from the top of the page; shows status and body. */
const TRY_IT_SCRIPT = `
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.method) return;
  event.preventDefault();
  const out = form.querySelector(".result");
  let path = form.dataset.path;
  const headers = {};
  for (const input of form.querySelectorAll("input[data-name]")) {
    if (input.dataset.in === "path") path = path.replace("{" + input.dataset.name + "}", encodeURIComponent(input.value));
    else if (input.value) headers[input.dataset.name] = input.value;
  }
  const token = document.getElementById("token").value.trim();
  if (token) headers["Authorization"] = "Bearer " + token;
  const body = form.querySelector("textarea");
  if (body) headers["Content-Type"] = "application/json";
  out.hidden = false;
  out.textContent = "…";
  try {
    const res = await fetch(path, { method: form.dataset.method, headers, body: body ? body.value : undefined });
    const raw = await res.text();
    let shown = raw;
    try { shown = JSON.stringify(JSON.parse(raw), null, 2); } catch {}
    out.textContent = res.status + " " + res.statusText + "\\n\\n" + shown;
    if (!token && res.ok && path.endsWith("/login")) {
      try { document.getElementById("token").value = JSON.parse(raw).access_token || ""; } catch {}
    }
  } catch (err) {
    out.textContent = String(err);
  }
});
`;

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2329;background:#fafbfc}
header{background:#14324a;color:#fff;padding:1rem 2rem}header h1{margin:0 0 .25rem}header a{color:#cfe3f5}
main{max-width:70rem;margin:0 auto;padding:1rem 2rem}nav ul{columns:2;padding-left:1rem}
code,pre,textarea,input{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f0f2f4;padding:.75rem;overflow:auto;border-radius:4px}
.op{background:#fff;border:1px solid #dde2e6;border-radius:6px;padding:.5rem 1.25rem;margin:1rem 0}
.method{display:inline-block;min-width:4.5rem;text-align:center;border-radius:4px;color:#fff;padding:0 .4rem;font-size:.85em}
.get{background:#2b7bb9}.post{background:#2e8b57}.put,.patch{background:#b8860b}.delete{background:#b03a2e}
.lock,.required,.note{font-size:.8em;border-radius:3px;padding:0 .3rem}.lock{background:#fdf1d6}.required{color:#b03a2e}.note{background:#eef1f4}
.type{color:#5a6b7b}.fields{list-style:none;padding-left:1rem;border-left:2px solid #eef1f4}.fields li{margin:.3rem 0}.desc p{margin:.1rem 0;color:#3d4a56}
.status{font-weight:600}.s2{color:#2e8b57}.s4{color:#b8860b}.s5,.sd{color:#b03a2e}
table{border-collapse:collapse}td,th{border:1px solid #dde2e6;padding:.2rem .5rem;text-align:left;vertical-align:top}
textarea{width:100%;box-sizing:border-box}.try form{display:flex;flex-direction:column;gap:.5rem;margin:.5rem 0}
`;

/** The whole page for `document`; `specPath` is where the raw document is served. */
export function renderReferencePage(spec: object, options: { title: string; specPath: string }): string {
  const document = obj(spec);
  const info = obj(document.info);
  const renderer = new SchemaRenderer(obj(document.components));
  const byTag = new Map<string, string[]>();
  const toc: string[] = [];
  for (const [path, item] of Object.entries(obj(document.paths))) {
    for (const method of HTTP_METHODS) {
      const op = obj(obj(item)[method]);
      if (Object.keys(op).length === 0) continue;
      const tag = text(list(op.tags)[0]) || "other";
      const sections = byTag.get(tag) ?? [];
      sections.push(renderOperation(renderer, method, path, op));
      byTag.set(tag, sections);
      const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
      toc.push(`<li><a href="#${id}">${method.toUpperCase()} ${escapeHtml(path)}</a></li>`);
    }
  }
  const sections = [...byTag].map(([tag, ops]) => `<h2>${escapeHtml(tag)}</h2>${ops.join("")}`).join("");
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(options.title)}</title><style>${STYLE}</style></head><body>` +
    `<header><h1>${escapeHtml(text(info.title) || options.title)} <small>${escapeHtml(text(info.version))}</small></h1>` +
    `<a href="${escapeHtml(options.specPath)}">${escapeHtml(options.specPath)}</a> (OpenAPI ${escapeHtml(text(document.openapi))})</header>` +
    `<main>${markdown(text(info.description))}` +
    `<p><label>Access token for "Try it" (filled in by a successful login): <input id="token" size="60" autocomplete="off"></label></p>` +
    `<nav><ul>${toc.join("")}</ul></nav>${sections}</main><script>${TRY_IT_SCRIPT}</script></body></html>`
  );
}
