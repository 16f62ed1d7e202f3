// Bundles the web client: src/main.tsx (+ its CSS) -> OUT/app.js and OUT/app.css, and
// copies index.html. The SDK is bundled from its TypeScript source. Prints the sizes,
// gzipped, and fails if the JavaScript is over the budget of issue 15 (150 KB gzip).
// Usage: node web/build.mjs [--outdir DIR]
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outIndex = args.indexOf("--outdir");
const outdir = path.resolve(outIndex >= 0 ? args[outIndex + 1] : path.join(here, "dist"));
const budgetBytes = 150 * 1024;

mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: { app: path.join(here, "src", "main.tsx") },
  outdir,
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  alias: { "@parley/sdk": path.join(here, "..", "sdk", "ts", "src", "index.ts") },
  legalComments: "none",
  logLevel: "warning",
});
copyFileSync(path.join(here, "src", "index.html"), path.join(outdir, "index.html"));

let total = 0;
for (const name of ["app.js", "app.css", "index.html"]) {
  const bytes = readFileSync(path.join(outdir, name));
  const gz = gzipSync(bytes, { level: 9 }).length;
  if (name === "app.js") total = gz;
  console.log(`web: ${name} ${(bytes.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzip`);
}
if (total > budgetBytes) {
  console.error(`web: app.js is ${(total / 1024).toFixed(1)} KB gzip, over the 150 KB budget`);
  process.exit(1);
}
