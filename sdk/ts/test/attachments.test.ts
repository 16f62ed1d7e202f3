// Attachments through the SDK against a real parleyd (local store): an upload with
// progress, cut after its first part and resumed from the server's offset by a new call;
// a file message; the peer downloads the bytes whole and by range; an outsider is refused.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";

import { AttachmentApi } from "../src/attachments.js";
import { ParleyError } from "../src/errors.js";
import { parseAttachmentBody } from "../src/protocol.js";
import { ParleyServer, waitFor } from "./server.js";
import { newUser, type TestUser } from "./users.js";

let server: ParleyServer;
const users: TestUser[] = [];

before(async () => {
  server = await ParleyServer.start();
});
after(async () => {
  for (const u of users) await u.client.stop();
  await server.stop();
});

/** A fetch that fails (as a network error) the `n`-th PATCH it sees. */
function failingNthPatch(n: number): typeof fetch {
  let patches = 0;
  return (input, init) => {
    if (init?.method === "PATCH") {
      patches += 1;
      if (patches === n) return Promise.reject(new TypeError("fetch failed: connection reset"));
    }
    return fetch(input, init);
  };
}

test("an upload cut after its first part resumes from the server's offset", async () => {
  const alice = await newUser(server, "upa");
  const bob = await newUser(server, "upb");
  const eve = await newUser(server, "upe");
  users.push(alice, bob, eve);
  const conv = (await alice.client.send({ to: bob.name, body: "a file follows" })).conv;
  const file = new Uint8Array(randomBytes(20 * 1024 * 1024 + 123));

  // One try per request, so the cut ends the first call (the process "dies" there).
  const impatient = new AttachmentApi({
    baseUrl: server.httpUrl,
    token: () => alice.client.token,
    storage: alice.storage,
    fetch: failingNthPatch(2),
    attempts: 1,
  });
  const firstProgress: number[] = [];
  const cut = await impatient
    .upload(file, { conv, name: "data.bin", onProgress: (sent) => firstProgress.push(sent) })
    .catch((e: unknown) => e);
  assert.ok(cut instanceof ParleyError && cut.code === "disconnected", String(cut));
  assert.ok((firstProgress.at(-1) ?? 0) > 0, "the first part got through");

  const progress: number[] = [];
  const att = await alice.client.attachments.upload(file, {
    conv,
    name: "data.bin",
    mime: "application/octet-stream",
    onProgress: (sent) => progress.push(sent),
  });
  assert.equal(progress[0], firstProgress.at(-1), "resumed where the server was");
  assert.equal(progress.at(-1), file.length);
  assert.equal(att.size, file.length);
  assert.equal(att.kind, "file");
  assert.deepEqual(await alice.storage.keys("upload/"), [], "the finished upload is forgotten");

  const ack = await alice.client.send({
    conv,
    kind: "file",
    body: JSON.stringify({ attachments: [att.id], caption: "the data" }),
  });
  await waitFor("bob's file message", () => bob.events.some((e) => e.message?.seq === ack.seq));
  const message = bob.events.find((e) => e.message?.seq === ack.seq)?.message;
  const described = message ? parseAttachmentBody(message) : null;
  assert.equal(described?.caption, "the data");
  assert.equal(described?.attachments[0]?.sha256, att.sha256);

  const whole = await bob.client.attachments.bytes(att.id);
  assert.equal(Buffer.compare(Buffer.from(whole), Buffer.from(file)), 0);
  const part = await bob.client.attachments.download(att.id, { range: [1000, 1999] });
  assert.equal(part.status, 206);
  const partBytes = new Uint8Array(await part.arrayBuffer());
  assert.equal(Buffer.compare(Buffer.from(partBytes), Buffer.from(file.subarray(1000, 2000))), 0);
  assert.equal((await bob.client.attachments.info(att.id)).name, "data.bin");

  const refused = await eve.client.attachments.bytes(att.id).catch((e: unknown) => e);
  assert.ok(refused instanceof ParleyError, String(refused));
  assert.ok(refused.status === 403 || refused.status === 404, `status ${refused.status}`);
  assert.ok(refused.requestId !== undefined && refused.requestId.length > 0);
});

test("upload errors carry the server's code and status", async () => {
  const alice = await newUser(server, "uperr");
  users.push(alice);
  const refused = await alice.client.attachments
    .upload(new Uint8Array([1, 2, 3]), { conv: 424242, name: "x.bin" })
    .catch((e: unknown) => e);
  assert.ok(refused instanceof ParleyError, String(refused));
  assert.equal(refused.code, "not_member");
  assert.equal(refused.status, 403);
  const own = (await alice.client.request("conv.create", { title: "mine", members: [] })).conversation.conv;
  const badName = await alice.client.attachments
    .upload(new Uint8Array([1]), { conv: own, name: "a/b" })
    .catch((e: unknown) => e);
  assert.ok(badName instanceof ParleyError);
  assert.equal(badName.status, 400);
  assert.equal(badName.code, "invalid_argument");
});
