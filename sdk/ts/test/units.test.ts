// Unit tests of the SDK's parts that need no server.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

import { httpBaseOf, sha256Hex } from "../src/attachments.js";
import { Backoff } from "../src/backoff.js";
import { Journal } from "../src/journal.js";
import { FileStorage } from "../src/node.js";
import { parseAttachmentBody, type Message } from "../src/protocol.js";
import { MemoryStorage, NamespacedStorage, WebStorage, type DomStorage, type Storage } from "../src/storage.js";

test("backoff grows to its ceiling with jitter and resets", () => {
  const lows = new Backoff(100, 1000, () => 0);
  const highs = new Backoff(100, 1000, () => 1);
  const seenHigh = Array.from({ length: 8 }, () => highs.nextDelayMs());
  assert.deepEqual(seenHigh, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  assert.equal(lows.nextDelayMs(), 100);
  highs.reset();
  assert.equal(highs.nextDelayMs(), 100);
  const random = new Backoff(50, 5000);
  for (let i = 0; i < 200; i++) {
    const d = random.nextDelayMs();
    assert.ok(d >= 50 && d <= 5000, `delay ${d}`);
  }
  assert.throws(() => new Backoff(0, 10));
  assert.throws(() => new Backoff(10, 5));
});

class FakeDom implements DomStorage {
  private readonly m = new Map<string, string>();
  get length() {
    return this.m.size;
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
}

async function exerciseStorage(s: Storage): Promise<void> {
  assert.equal(await s.get("missing"), null);
  await s.set("journal/0000000000000002", "b");
  await s.set("journal/0000000000000001", "a");
  await s.set("cursor", "7");
  await s.set("weird/../key with spaces.and.dots", "x");
  assert.equal(await s.get("cursor"), "7");
  assert.deepEqual(await s.keys("journal/"), ["journal/0000000000000001", "journal/0000000000000002"]);
  assert.equal(await s.get("weird/../key with spaces.and.dots"), "x");
  await s.set("cursor", "8");
  assert.equal(await s.get("cursor"), "8");
  await s.delete("journal/0000000000000001");
  await s.delete("never-there");
  assert.deepEqual(await s.keys("journal/"), ["journal/0000000000000002"]);
}

test("storages keep values and list keys in order", async () => {
  await exerciseStorage(new MemoryStorage());
  await exerciseStorage(new WebStorage(new FakeDom(), "app:"));
  await exerciseStorage(new NamespacedStorage(new MemoryStorage(), "alice"));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "parley-sdk-storage-"));
  try {
    await exerciseStorage(new FileStorage(path.join(dir, "state")));
    // Another instance on the same directory sees what the first stored.
    assert.equal(await new FileStorage(path.join(dir, "state")).get("cursor"), "8");
    // Every file stays inside the directory, whatever the key.
    for (const name of await fs.readdir(path.join(dir, "state"))) assert.ok(!name.includes("/"));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test("namespaces do not see each other", async () => {
  const inner = new MemoryStorage();
  const a = new NamespacedStorage(inner, "a");
  const b = new NamespacedStorage(inner, "b");
  await a.set("cursor", "1");
  await b.set("cursor", "2");
  assert.equal(await a.get("cursor"), "1");
  assert.deepEqual(await b.keys(""), ["cursor"]);
});

test("the journal reloads in send order and keeps numbering after removals", async () => {
  const s = new MemoryStorage();
  const j = new Journal(s);
  await j.load();
  for (let i = 0; i < 12; i++) {
    await j.add({ client_msg_id: `m${i}`, conv: 1, kind: "text", body: `b${i}`, created_ms: i });
  }
  await j.remove({ client_msg_id: "m0", kind: "text", body: "", created_ms: 0 });
  const again = new Journal(s);
  await again.load();
  assert.deepEqual(
    again.entries().map((e) => e.client_msg_id),
    Array.from({ length: 11 }, (_, i) => `m${i + 1}`),
  );
  await again.add({ client_msg_id: "late", conv: 1, kind: "text", body: "x", created_ms: 99 });
  const third = new Journal(s);
  await third.load();
  assert.equal(third.entries().at(-1)?.client_msg_id, "late");
  await third.clear();
  assert.deepEqual(await s.keys("journal/"), []);
});

test("attachment bodies and URLs", async () => {
  const m: Message = {
    conv: 1, seq: 1, msg_id: 1, sender: 1, device: "d", client_msg_id: "c", kind: "file", ts: 1,
    body: JSON.stringify({ attachments: [{ id: "ab", name: "a.txt" }], caption: "hi" }),
  };
  assert.equal(parseAttachmentBody(m)?.caption, "hi");
  assert.equal(parseAttachmentBody(m)?.attachments.length, 1);
  assert.equal(parseAttachmentBody({ ...m, kind: "text" }), null);
  assert.equal(parseAttachmentBody({ ...m, body: "not json" }), null);
  assert.equal(parseAttachmentBody({ ...m, body: "", recalled: true }), null);
  assert.equal(httpBaseOf("ws://127.0.0.1:7800/ws"), "http://127.0.0.1:7800");
  assert.equal(httpBaseOf("wss://chat.example.com/ws"), "https://chat.example.com");
  assert.equal(
    await sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});
