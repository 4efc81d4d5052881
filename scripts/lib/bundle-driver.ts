import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { builtinModules, createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build, type Plugin } from "esbuild";

/**
 * The vitest workerd pool cannot serve CommonJS `require()` of Node builtins, which the
 * `mongodb` driver is full of. This pre-bundles the driver into one ESM file: every
 * `require("x")` of a builtin reads a table filled by an ESM prelude that imports
 * `node:x`. `wrangler dev`/`deploy` bundle the driver themselves and do not need this.
 */
const BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const TABLE = "__earlybirdNodeBuiltins";

export async function bundleDriverForTests(root: string): Promise<string> {
  const require = createRequire(join(root, "package.json"));
  const driverPkg = require.resolve("mongodb/package.json");
  const version = JSON.parse(await readFile(driverPkg, "utf8")).version as string;
  const outDir = join(root, ".cache", "test-driver");
  const outFile = join(outDir, `mongodb-${version}.mjs`);
  if (
    await stat(outFile).then(
      () => true,
      () => false,
    )
  )
    return outFile;

  const driver = (await import(require.resolve("mongodb"))) as Record<string, unknown>;
  const names = Object.keys(driver).filter((n) => n !== "default" && /^[A-Za-z_$][\w$]*$/.test(n));
  const required = new Set<string>();

  const builtinsPlugin: Plugin = {
    name: "cjs-builtins",
    setup(b) {
      b.onResolve({ filter: /^[\w:/]+$/ }, (args) => {
        if (!BUILTINS.has(args.path)) return undefined;
        const bare = args.path.replace(/^node:/, "");
        if (args.kind === "require-call") {
          required.add(bare);
          return { path: bare, namespace: "builtin-cjs" };
        }
        return { path: `node:${bare}`, external: true };
      });
      b.onLoad({ filter: /.*/, namespace: "builtin-cjs" }, (args) => ({
        contents: `module.exports = globalThis.${TABLE}[${JSON.stringify(args.path)}];`,
        loader: "js",
      }));
      b.onResolve({ filter: /^builtins-prelude$/ }, () => ({ path: "prelude", namespace: "prelude" }));
      b.onLoad({ filter: /.*/, namespace: "prelude" }, () => {
        const list = [...required].sort();
        const imports = list.map((n, i) => `import * as m${i} from "node:${n}";`).join("\n");
        const table = list.map((n, i) => `${JSON.stringify(n)}: m${i}.default ?? m${i}`).join(",\n");
        return { contents: `${imports}\nglobalThis.${TABLE} = {\n${table}\n};\n`, loader: "js" };
      });
    },
  };

  const entry = [
    `import "builtins-prelude";`,
    `import * as driver from "mongodb";`,
    ...names.map((n) => `export const ${n} = driver.${n};`),
    `export default driver;`,
  ].join("\n");

  // First pass discovers which builtins are required; the second writes the prelude for them.
  const options = {
    stdin: { contents: entry, resolveDir: root, loader: "js" as const },
    bundle: true,
    platform: "node" as const,
    format: "esm" as const,
    target: "es2022",
    keepNames: true,
    write: false,
    logLevel: "silent" as const,
    plugins: [builtinsPlugin],
    // Optional native add-ons stay behind the driver's own guarded require().
    external: [
      "kerberos",
      "snappy",
      "@mongodb-js/zstd",
      "mongodb-client-encryption",
      "@aws-sdk/credential-providers",
      "gcp-metadata",
      "socks",
      "aws4",
      "@mongodb-js/saslprep",
    ],
  };
  await build(options);
  const result = await build(options);
  await mkdir(dirname(outFile), { recursive: true });
  const [output] = result.outputFiles ?? [];
  if (!output) throw new Error("esbuild produced no output for the mongodb test bundle");
  await writeFile(outFile, output.text);
  return outFile;
}
