// The SDK's ops against a real parleyd: conversations, history both ways and by time, read
// cursors and unread counts, typing, recall, edit, search, groups, blocks, devices, typed
// errors, and the end of a revoked session.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ParleyError } from "../src/errors.js";
import type { TimelineEvent } from "../src/protocol.js";
import { ParleyServer, waitFor } from "./server.js";
import { assertInOrder, bodies, newUser, resume, type TestUser } from "./users.js";

let server: ParleyServer;
const users: TestUser[] = [];

before(async () => {
  server = await ParleyServer.start();
});
after(async () => {
  for (const u of users) await u.client.stop();
  await server.stop();
});

async function user(prefix: string): Promise<TestUser> {
  const u = await newUser(server, prefix);
  users.push(u);
  return u;
}

function codeOf(e: unknown): string {
  assert.ok(e instanceof ParleyError, `not a ParleyError: ${String(e)}`);
  return e.code;
}

describe("conversations", () => {
  test("a direct message reaches the peer once, with its member_joined first", async () => {
    const alice = await user("alice");
    const bob = await user("bob");
    const ack = await alice.client.send({ to: bob.name, body: "hi bob" });
    assert.equal(ack.duplicate, false);
    assert.equal(ack.seq, 1);
    await waitFor("bob's message", () => bodies(bob.events).length === 1);
    const types = bob.events.map((e) => e.type);
    assert.deepEqual(types, ["member_joined", "message"]);
    assert.equal(bob.events[1]?.message?.sender, alice.id);
    // Alice's own send is not delivered back to her; her cursor stepped over it.
    assert.deepEqual(bodies(alice.events), []);
    await waitFor("alice's cursor", () => alice.client.cursor >= (ack.user_seq ?? 0));
    assertInOrder(bob.events);
    // Same client_msg_id again: the first ack, marked duplicate, nothing new stored.
    const again = await alice.client.send({ conv: ack.conv, body: "hi bob", clientMsgId: bob.events[1]?.message?.client_msg_id as string });
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, ack.seq);
    const hist = await bob.client.request("history", { conv: ack.conv });
    assert.equal(hist.messages.length, 1);
  });

  test("history pages backwards, forwards and by time", async () => {
    const alice = await user("hista");
    const bob = await user("histb");
    const conv = (await alice.client.request("conv.open", { user: bob.name })).conversation.conv;
    const acks = [];
    for (let i = 1; i <= 30; i++) acks.push(await alice.client.send({ conv, body: `m${i}` }));
    // Bob became a member with the first message, so he may read it all.
    const latest = await bob.client.request("history", { conv, limit: 10 });
    assert.deepEqual(latest.messages.map((m) => m.body), Array.from({ length: 10 }, (_, i) => `m${21 + i}`));
    assert.equal(latest.has_more_before, true);
    assert.equal(latest.head_seq, 30);
    const older = await bob.client.request("history", { conv, before: latest.messages[0]?.seq as number, limit: 10 });
    assert.deepEqual(older.messages.map((m) => m.seq), Array.from({ length: 10 }, (_, i) => 11 + i));
    const newer = await bob.client.request("history", { conv, after: 25 });
    assert.deepEqual(newer.messages.map((m) => m.seq), [26, 27, 28, 29, 30]);
    assert.equal(newer.has_more_after, false);
    const around = await bob.client.request("history", { conv, around_ts: acks[14]?.ts as number, limit: 5 });
    assert.ok(around.messages.some((m) => m.seq === 15), "the page around m15's time holds it");
    const bad = await bob.client.request("history", { conv, limit: 0 }).catch((e) => e);
    assert.equal(codeOf(bad), "invalid_argument");
  });

  test("read cursors, unread counts and receipts", async () => {
    const alice = await user("reada");
    const bob = await user("readb");
    const ack = await alice.client.send({ to: bob.name, body: "one" });
    await alice.client.send({ conv: ack.conv, body: "two" });
    await waitFor("bob has both", () => bodies(bob.events, ack.conv).length === 2);
    const before = (await bob.client.request("convs", {})).conversations.find((c) => c.conv === ack.conv);
    assert.equal(before?.unread, 2);
    assert.equal(before?.last_message?.body, "two");
    const read = await bob.client.request("read", { conv: ack.conv, seq: 2 });
    assert.equal(read.read_seq, 2);
    const after = (await bob.client.request("convs", {})).conversations.find((c) => c.conv === ack.conv);
    assert.equal(after?.unread, 0);
    await waitFor("alice's receipt", () => alice.events.some((e) => e.type === "receipt" && e.seq === 2));
  });

  test("typing reaches the other member, not the typist", async () => {
    const alice = await user("typa");
    const bob = await user("typb");
    const ack = await alice.client.send({ to: bob.name, body: "hello" });
    await waitFor("bob joined", () => bodies(bob.events).length === 1);
    const seen: Array<{ conv: number; user: number }> = [];
    const off = bob.client.on("typing", (t) => seen.push(t));
    await alice.client.request("typing", { conv: ack.conv });
    await waitFor("typing", () => seen.length === 1);
    off();
    assert.deepEqual(seen[0], { conv: ack.conv, user: alice.id });
  });

  test("edit and recall reach every member as events", async () => {
    const alice = await user("edita");
    const bob = await user("editb");
    const ack = await alice.client.send({ to: bob.name, body: "teh typo" });
    const edited = await alice.client.request("edit", { conv: ack.conv, seq: ack.seq, body: "the typo" });
    assert.ok(edited.edited_ms > 0);
    await waitFor("edit event", () => bob.events.some((e) => e.type === "edit"));
    assert.equal(bob.events.find((e) => e.type === "edit")?.message?.body, "the typo");
    await alice.client.request("recall", { conv: ack.conv, seq: ack.seq });
    await waitFor("recall event", () => bob.events.some((e) => e.type === "recall"));
    const tomb = bob.events.find((e) => e.type === "recall")?.message;
    assert.equal(tomb?.recalled, true);
    assert.equal(tomb?.body, "");
    const notYours = await bob.client.request("edit", { conv: ack.conv, seq: ack.seq, body: "x" }).catch((e) => e);
    assert.equal(codeOf(notYours), "permission_denied");
  });

  test("search finds a Chinese word inside a sentence, with highlights", async () => {
    const alice = await user("srcha");
    const bob = await user("srchb");
    const ack = await alice.client.send({ to: bob.name, body: "我们明天讨论一下备份恢复的方案吧" });
    await alice.client.send({ conv: ack.conv, body: "an unrelated english line about backups" });
    let hits: Awaited<ReturnType<typeof bob.client.request<"search">>>["hits"] = [];
    const deadline = Date.now() + 10_000;
    while (hits.length === 0 && Date.now() < deadline) {
      hits = (await bob.client.request("search", { q: "备份恢复" })).hits;
      if (hits.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(hits.length, 1);
    const hit = hits[0] as (typeof hits)[number];
    assert.equal(hit.seq, ack.seq);
    const [start, len] = hit.highlights[0] as [number, number];
    assert.equal([...hit.snippet].slice(start, start + len).join(""), "备份恢复");
    const english = await bob.client.request("search", { q: "backup", conv: ack.conv });
    assert.equal(english.hits.length, 1); // stemmed: "backups"
  });
});

describe("groups", () => {
  test("create, add, rename, roles, remove and leave", async () => {
    const owner = await user("gown");
    const a = await user("gmema");
    const b = await user("gmemb");
    const created = await owner.client.request("conv.create", { title: "team", members: [a.name] });
    const conv = created.conversation.conv;
    assert.equal(created.conversation.kind, "group");
    await owner.client.request("conv.add", { conv, users: [b.id] });
    await owner.client.request("conv.rename", { conv, title: "the team" });
    await owner.client.request("conv.role", { conv, user: a.id, role: "admin" });
    const members = await owner.client.request("conv.members", { conv });
    assert.deepEqual(
      members.members.map((m) => [m.user, m.role]).sort(),
      [[owner.id, "owner"], [a.id, "admin"], [b.id, "member"]].sort(),
    );
    const ack = await a.client.send({ conv, body: "hello team" });
    await waitFor("b got it", () => bodies(b.events, conv).includes("hello team"));
    await waitFor("owner got it", () => bodies(owner.events, conv).includes("hello team"));
    assert.equal(ack.seq, 1);
    const notAllowed = await b.client.request("conv.remove", { conv, user: a.id }).catch((e) => e);
    assert.equal(codeOf(notAllowed), "permission_denied");
    await a.client.request("conv.remove", { conv, user: b.id });
    await waitFor("b left", () => b.events.some((e) => e.type === "member_left" && e.subject === b.id));
    const gone = await b.client.request("history", { conv }).catch((e) => e);
    assert.equal(codeOf(gone), "not_member");
    await a.client.request("conv.leave", { conv });
    const info = await owner.client.request("conv.get", { conv });
    assert.equal(info.conversation.title, "the team");
    assert.equal(info.conversation.member_count, 1);
  });
});

describe("errors", () => {
  test("every refusal is a typed ParleyError and the connection keeps working", async () => {
    const alice = await user("erra");
    assert.equal(codeOf(await alice.client.request("conv.get", { conv: 987654 }).catch((e) => e)), "not_member");
    assert.equal(codeOf(await alice.client.request("conv.open", { user: "no-such-user-x" }).catch((e) => e)), "not_found");
    assert.equal(codeOf(await alice.client.request("sync", { since: 0, limit: 0 }).catch((e) => e)), "invalid_argument");
    // A send refused for good is dropped from the journal and rejects.
    const refused = await alice.client.send({ conv: 987654, body: "into the void" }).catch((e) => e);
    assert.equal(codeOf(refused), "not_member");
    assert.equal(alice.client.pendingSends.length, 0);
    const self = await alice.client.send({ to: alice.name, body: "x" }).catch((e) => e);
    assert.equal(codeOf(self), "invalid_argument"); // a direct conversation with yourself
    assert.ok((await alice.client.request("ping", {})).ts > 0);
    assert.equal(alice.client.connected, true);
  });

  test("a revoked device ends its session instead of reconnecting forever", async () => {
    const alice = await user("reva");
    const ended: string[] = [];
    alice.client.on("sessionEnded", (e) => ended.push(e.reason));
    // A second device of the same user revokes the first.
    const other = resume(server, new (await import("../src/storage.js")).MemoryStorage());
    await other.client.login(alice.name, "correct horse battery");
    await waitFor("other connected", () => other.client.connected);
    const first = alice.client.me?.device as string;
    await other.client.request("device.revoke", { device: first });
    await waitFor("session ended", () => ended.length === 1);
    assert.match(ended[0] as string, /device revoked/);
    assert.equal(alice.client.connected, false);
    const late = await alice.client.request("ping", {}).catch((e) => e);
    assert.equal(codeOf(late), "unavailable");
    await other.client.stop();
  });
});

describe("blocks and devices", () => {
  test("a blocked user's direct message is refused; devices are listed", async () => {
    const alice = await user("blka");
    const bob = await user("blkb");
    await alice.client.request("block", { user: bob.name });
    const refused = await bob.client.send({ to: alice.name, body: "hello?" }).catch((e) => e);
    assert.equal(codeOf(refused), "permission_denied");
    assert.deepEqual((await alice.client.request("blocks", {})).blocks.map((b) => b.user), [bob.id]);
    await alice.client.request("unblock", { user: bob.id });
    await bob.client.send({ to: alice.name, body: "hello again" });
    await waitFor("delivered", () => bodies(alice.events).includes("hello again"));
    const devices = await alice.client.request("devices", {});
    assert.equal(devices.devices.filter((d) => d.current).length, 1);
    const users = await alice.client.request("users", { names: [bob.name] });
    assert.deepEqual(users.users, [{ user: bob.id, name: bob.name }]);
    const events: TimelineEvent[] = alice.events;
    assertInOrder(events);
  });
});

describe("a new device", () => {
  test("with startAtLatest it begins at the end of the timeline, not its start", async () => {
    const alice = await user("latesta");
    const bob = await user("latestb");
    const ack = await alice.client.send({ to: bob.name, body: "old news" });
    await waitFor("bob has it", () => bodies(bob.events).includes("old news"));
    const tab = resume(server, new (await import("../src/storage.js")).MemoryStorage(), { startAtLatest: true });
    await tab.client.login(bob.name, "correct horse battery");
    await waitFor("tab connected", () => tab.client.connected);
    assert.ok(tab.client.cursor >= bob.client.cursor, "the cursor starts at the end");
    await alice.client.send({ conv: ack.conv, body: "new news" });
    await waitFor("the tab gets the new one", () => bodies(tab.events).includes("new news"));
    assert.deepEqual(bodies(tab.events), ["new news"]);
    await tab.client.stop();
  });
});
