// The SDK's op and error-code lists against the tables of docs/protocol.md (which the
// server's dispatcher_test checks against its command table): a new op or code on the
// server fails this test until the SDK knows it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import { ERROR_CODES, OPS } from "../src/protocol.js";
import { repoRoot } from "./server.js";

const doc = readFileSync(path.join(repoRoot(), "docs", "protocol.md"), "utf8");

function section(begin: string, end: string): string {
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end, a + begin.length);
  assert.ok(a >= 0 && b > a, `docs/protocol.md lacks the section ${begin}`);
  return doc.slice(a, b);
}

test("every op of docs/protocol.md §3, in its order", () => {
  const table = section("<!-- op-table:begin", "<!-- op-table:end -->");
  const ops = [...table.matchAll(/^\| `([a-z.]+)` \|/gm)].map((m) => m[1]);
  assert.ok(ops.length > 20);
  assert.deepEqual([...OPS], ops);
});

test("every error code of docs/protocol.md §4, in its order", () => {
  const table = section("## 4. Error codes", "### Close codes");
  const codes: string[] = [];
  for (const m of table.matchAll(/^\| ((?:`[a-z0-9_]+`(?:, )?)+) \|/gm)) {
    for (const c of (m[1] as string).matchAll(/`([a-z0-9_]+)`/g)) codes.push(c[1] as string);
  }
  assert.deepEqual([...ERROR_CODES], codes);
});

test("the server's own list of codes (src/common/status.cc) is the same set", () => {
  const source = readFileSync(path.join(repoRoot(), "src", "common", "status.cc"), "utf8");
  const names = source.slice(source.indexOf("CodeName"), source.indexOf("\n}\n", source.indexOf("CodeName")));
  const server = new Set([...names.matchAll(/return "([a-z0-9_]+)";/g)].map((m) => m[1] as string));
  server.delete("ok");
  assert.deepEqual([...server].sort(), [...ERROR_CODES].sort());
});

test("every HTTP error code of docs/protocol.md §7 is an ErrorCode", () => {
  const table = section("## 7. Attachments", "### Uploading");
  const codes = [...table.matchAll(/^\| \d{3} \| `([a-z_]+)` \|/gm)].map((m) => m[1] as string);
  const http = ["checksum_mismatch", "offset_mismatch", "range_not_satisfiable", "quota_exceeded"];
  for (const c of codes) {
    assert.ok((ERROR_CODES as readonly string[]).includes(c) || http.includes(c), `unknown code ${c}`);
  }
  for (const c of http) assert.ok(codes.includes(c), `${c} is not in §7 any more`);
});
