// The guarantees of the C++ reliable client, kept by the SDK against a real parleyd: a
// device offline during 1,000 messages catches up exactly once and in order; a server
// killed with SIGKILL mid-stream loses and duplicates nothing; sends whose acks were lost,
// or that were journaled while the server was down and the app restarted, are resent with
// the same client_msg_id and stored once; a frozen server is noticed by the heartbeat.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";

import type { ParleyClient } from "../src/client.js";
import type { WebSocketFactory, WebSocketLike } from "../src/connection.js";
import { FileStorage } from "../src/node.js";
import type { SendAck, TimelineEvent } from "../src/protocol.js";
import { ParleyServer, waitFor } from "./server.js";
import { assertInOrder, bodies, newUser, resume } from "./users.js";

let server: ParleyServer;
let scratch: string;
const clients: ParleyClient[] = [];

before(async () => {
  server = await ParleyServer.start();
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), "parley-sdk-state-"));
});
after(async () => {
  for (const c of clients) await c.stop();
  await server.stop();
  await fs.rm(scratch, { recursive: true, force: true });
});

function stateDir(name: string): FileStorage {
  return new FileStorage(path.join(scratch, name));
}

/** Every message of `conv` on the server, in seq order, as bodies. */
async function storedBodies(client: ParleyClient, conv: number): Promise<string[]> {
  const out: string[] = [];
  let after = 0;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await client.request("history", { conv, after, limit: 200 });
    out.push(...page.messages.map((m) => m.body));
    if (!page.has_more_after || page.messages.length === 0) return out;
    after = page.messages.at(-1)?.seq as number;
  }
  throw new Error("history does not end");
}

function numbered(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

test("a device offline during 1,000 messages catches up exactly once, in order", async () => {
  const alice = await newUser(server, "offa");
  const bobStore = stateDir("off-bob");
  const bob = await newUser(server, "offb", { storage: bobStore });
  clients.push(alice.client);
  const conv = (await alice.client.send({ to: bob.name, body: "start" })).conv;
  const expected = ["start", ...numbered("n", 1000)];
  const sends: Array<Promise<SendAck>> = numbered("n", 1000).map((body) => alice.client.send({ conv, body }));
  await waitFor("bob saw some", () => bodies(bob.events).length >= 50, 30_000);
  await bob.client.stop(); // offline in the middle of the stream
  const seenOnline = [...bob.events];
  const acks = await Promise.all(sends); // the rest is stored while bob is away
  assert.equal(acks.filter((a) => a.duplicate).length, 0);
  assert.ok(bodies(seenOnline).length < 1001, "bob went away before the end");

  const again = resume(server, bobStore);
  clients.push(again.client);
  await again.client.start();
  await waitFor("bob caught up", () => bodies([...seenOnline, ...again.events]).length >= expected.length, 60_000);
  const all: TimelineEvent[] = [...seenOnline, ...again.events];
  assertInOrder(all);
  assert.deepEqual(bodies(all, conv), expected);
  assert.deepEqual(await storedBodies(alice.client, conv), expected);
});

test("a server killed with SIGKILL mid-stream loses and duplicates nothing", async () => {
  const alice = await newUser(server, "killa", { storage: stateDir("kill-alice") });
  const bob = await newUser(server, "killb", { storage: stateDir("kill-bob") });
  clients.push(alice.client, bob.client);
  const conv = (await alice.client.send({ to: bob.name, body: "start" })).conv;
  let acked = 0;
  const sends = numbered("k", 500).map((body) =>
    alice.client.send({ conv, body }).then((ack) => {
      acked += 1;
      return ack;
    }),
  );
  await waitFor("a third acked", () => acked >= 150, 30_000);
  await server.restart(); // SIGKILL, then the same data and port
  await Promise.all(sends);
  const expected = ["start", ...numbered("k", 500)];
  await waitFor("bob has all", () => bodies(bob.events, conv).length >= expected.length, 60_000);
  assertInOrder(bob.events);
  assert.deepEqual(bodies(bob.events, conv), expected);
  assert.deepEqual(await storedBodies(bob.client, conv), expected);
  assert.ok(alice.client.reconnects >= 1 && bob.client.reconnects >= 1);
});

/** A factory of WebSockets whose traffic a test intercepts: `onSend` and `onReceive` return
 * true when they took care of a frame themselves (it then goes no further). */
function interceptingSockets(hooks: {
  onSend?: (data: string, socket: WebSocketLike, wrapper: WebSocketLike) => boolean;
  onReceive?: (event: { data: unknown }, socket: WebSocketLike) => boolean;
}): WebSocketFactory {
  const WS = (globalThis as unknown as { WebSocket: new (url: string) => WebSocketLike }).WebSocket;
  return (url) => {
    const ws = new WS(url);
    const wrapper: WebSocketLike = {
      get readyState() {
        return ws.readyState;
      },
      send: (d) => {
        if (!hooks.onSend?.(d, ws, wrapper)) ws.send(d);
      },
      close: (c, r) => ws.close(c, r),
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
    };
    ws.onopen = (e) => wrapper.onopen?.(e);
    ws.onclose = (e) => wrapper.onclose?.(e);
    ws.onerror = (e) => wrapper.onerror?.(e);
    ws.onmessage = (e) => {
      if (!hooks.onReceive?.(e, ws)) wrapper.onmessage?.(e);
    };
    return wrapper;
  };
}

/** A WebSocket that loses the first `n` acks of sends: the connection is cut instead of
 * the reply being delivered, as when a network drops right after the server committed. */
function losingAcks(n: number): { factory: WebSocketFactory; lost: () => number } {
  let lost = 0;
  const factory = interceptingSockets({
    onReceive: (e, ws) => {
      const d = e.data;
      if (lost < n && typeof d === "string" && d.includes('"duplicate":false') && !d.includes('"push"')) {
        lost += 1;
        ws.close(); // the ack dies with the connection
        return true;
      }
      return false;
    },
  });
  return { factory, lost: () => lost };
}

test("sends whose acks were lost are resent with the same id and stored once", async () => {
  const bob = await newUser(server, "lostb");
  const lossy = losingAcks(3);
  const alice = await newUser(server, "losta", { webSocketFactory: lossy.factory });
  clients.push(alice.client, bob.client);
  const conv = (await alice.client.request("conv.open", { user: bob.name })).conversation.conv;
  const acks = await Promise.all(numbered("l", 10).map((body) => alice.client.send({ conv, body })));
  assert.equal(lossy.lost(), 3);
  assert.equal(acks.filter((a) => a.duplicate).length, 3, "each lost ack came back as a duplicate");
  assert.deepEqual(acks.map((a) => a.seq), Array.from({ length: 10 }, (_, i) => i + 1));
  assert.deepEqual(await storedBodies(bob.client, conv), numbered("l", 10));
  await waitFor("bob has all", () => bodies(bob.events, conv).length >= 10);
  assert.deepEqual(bodies(bob.events, conv), numbered("l", 10));
});

/** A WebSocket on which the server seems to refuse the first `n` sends with `unavailable`
 * and retry_after_ms (its disk behind, docs/faults.md "Slow fsync"): those frames never
 * reach the server and the refusal is answered locally. */
function refusingSends(n: number, retryAfterMs: number): { factory: WebSocketFactory; refused: () => number } {
  let refused = 0;
  const factory = interceptingSockets({
    onSend: (d, _ws, wrapper) => {
      const frame = JSON.parse(d) as { id?: unknown; op?: string };
      if (refused >= n || frame.op !== "send") return false;
      refused += 1;
      const reply = { id: frame.id, ok: false, error: "unavailable", message: "disk behind", retry_after_ms: retryAfterMs };
      setTimeout(() => wrapper.onmessage?.({ data: JSON.stringify(reply) }), 0);
      return true;
    },
  });
  return { factory, refused: () => refused };
}

test("sends refused unavailable wait retry_after_ms on the same connection and are stored once", async () => {
  const bob = await newUser(server, "unavb");
  const refusing = refusingSends(3, 300);
  const alice = await newUser(server, "unava", { webSocketFactory: refusing.factory });
  clients.push(alice.client, bob.client);
  const conv = (await alice.client.request("conv.open", { user: bob.name })).conversation.conv;
  const reconnectsBefore = alice.client.reconnects;
  const start = Date.now();
  const acks = await Promise.all(numbered("u", 5).map((body) => alice.client.send({ conv, body })));
  assert.equal(refusing.refused(), 3);
  assert.ok(Date.now() - start >= 3 * 300, "each refusal waited retry_after_ms");
  assert.equal(alice.client.reconnects, reconnectsBefore, "waited instead of reconnecting");
  assert.deepEqual(acks.map((a) => a.seq), [1, 2, 3, 4, 5]);
  assert.equal(acks.filter((a) => a.duplicate).length, 0);
  assert.deepEqual(await storedBodies(bob.client, conv), numbered("u", 5));
});

test("sends journaled while the server is down survive an app restart and go out once", async () => {
  const aliceStore = stateDir("journal-alice");
  const alice = await newUser(server, "jrna", { storage: aliceStore });
  const bob = await newUser(server, "jrnb");
  clients.push(bob.client);
  const conv = (await alice.client.send({ to: bob.name, body: "before" })).conv;
  await server.kill();
  const stopped = numbered("j", 20).map((body) => alice.client.send({ conv, body }).catch((e: unknown) => e));
  await waitFor("journaled", () => alice.client.pendingSends.length === 20);
  await alice.client.stop(); // the app quits with 20 sends unacknowledged
  for (const r of await Promise.all(stopped)) assert.equal((r as { code?: string }).code, "stopped");

  await server.restart();
  const later = resume(server, aliceStore);
  clients.push(later.client);
  const done: string[] = [];
  later.client.on("sendDone", (d) => {
    assert.ok(d.ack !== undefined, `refused: ${String(d.error)}`);
    done.push(d.send.body);
  });
  await later.client.start();
  assert.equal(later.client.pendingSends.length, 20);
  await waitFor("all 20 acknowledged", () => done.length === 20, 30_000);
  assert.deepEqual(done, numbered("j", 20));
  assert.deepEqual(await storedBodies(bob.client, conv), ["before", ...numbered("j", 20)]);
  await waitFor("bob has them", () => bodies(bob.events, conv).length >= 21);
  assert.deepEqual(bodies(bob.events, conv), ["before", ...numbered("j", 20)]);
});

test("a frozen server is noticed by the heartbeat and the session resumes after it", async () => {
  const alice = await newUser(server, "frza", { heartbeatMs: 300, callTimeoutMs: 1000 });
  const bob = await newUser(server, "frzb", { heartbeatMs: 300, callTimeoutMs: 1000 });
  clients.push(alice.client, bob.client);
  const conv = (await alice.client.send({ to: bob.name, body: "before" })).conv;
  const drops: boolean[] = [];
  bob.client.on("connection", (c) => drops.push(c.connected));
  server.signal("SIGSTOP");
  try {
    await waitFor("bob noticed", () => drops.includes(false), 10_000);
  } finally {
    server.signal("SIGCONT");
  }
  const ack = await alice.client.send({ conv, body: "after" });
  assert.equal(ack.seq, 2);
  await waitFor("bob got it", () => bodies(bob.events, conv).includes("after"), 30_000);
  assert.deepEqual(bodies(bob.events, conv), ["before", "after"]);
});
