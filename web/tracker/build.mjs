// Builds the minified tracker served at `GET /v1/tracker.js`: `make tracker` (or `node web/tracker/build.mjs [out]`).
// Refuses to write a file that is not plain ES2017 or that weighs 10 KB or more.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { parse } from "acorn";
import { minify } from "terser";

const here = dirname(fileURLToPath(import.meta.url));
const source = resolve(here, "tracker.js");
const out = resolve(process.argv[2] || resolve(here, "../../services/events/static/tracker.min.js"));
const LIMIT = 10 * 1024;

const code = readFileSync(source, "utf8");
const version = /const VERSION = "([^"]+)"/.exec(code)[1];
parse(code, { ecmaVersion: 2017, sourceType: "script" }); // the source itself stays ES2017

const result = await minify(code, {
  ecma: 2017,
  compress: { passes: 2 },
  mangle: true,
  format: { comments: false, preamble: `/*! cxm.js ${version} | CxM first-party tracker | docs/tracker.md */` },
});
const minified = result.code + "\n";
parse(minified, { ecmaVersion: 2017, sourceType: "script" }); // and so does what the browsers get

const bytes = Buffer.byteLength(minified);
if (bytes >= LIMIT) {
  console.error(`tracker.min.js would be ${bytes} bytes; the budget is under ${LIMIT}`);
  process.exit(1);
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, minified);
console.log(`${out}: ${bytes} bytes (${gzipSync(minified).length} gzipped), cxm.js ${version}`);
