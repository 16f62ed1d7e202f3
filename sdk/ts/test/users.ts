// Test users: an account on the test server and a ParleyClient logged in as it, recording
// every event delivered to it.
import assert from "node:assert/strict";

import { ParleyClient, type ParleyClientOptions } from "../src/client.js";
import type { TimelineEvent } from "../src/protocol.js";
import { MemoryStorage, type Storage } from "../src/storage.js";
import { uniqueName, waitFor, type ParleyServer } from "./server.js";

export const PASSWORD = "correct horse battery";

export interface TestUser {
  name: string;
  id: number;
  client: ParleyClient;
  storage: Storage;
  /** Every event delivered to onEvent, in delivery order. */
  events: TimelineEvent[];
}

export async function newUser(
  server: ParleyServer,
  prefix: string,
  options: Partial<ParleyClientOptions> = {},
): Promise<TestUser> {
  const name = uniqueName(prefix);
  const storage = options.storage ?? new MemoryStorage();
  const { client, events } = resume(server, storage, options);
  await client.register(name, PASSWORD);
  const session = await client.login(name, PASSWORD);
  await waitFor(`${name} connected`, () => client.connected);
  return { name, id: session.user, client, storage, events };
}

/** A second client of the same stored session (another tab or process of the device). */
export function resume(server: ParleyServer, storage: Storage, options: Partial<ParleyClientOptions> = {}) {
  const events: TimelineEvent[] = [];
  const client = new ParleyClient({
    url: server.url,
    backoffMinMs: 20,
    backoffMaxMs: 500,
    ...options,
    storage,
    onEvent: (e) => {
      events.push(e);
    },
  });
  return { client, events };
}

/** The message events of `events` in conversation `conv`, as their bodies. */
export function bodies(events: TimelineEvent[], conv?: number): string[] {
  return events
    .filter((e) => e.type === "message" && (conv === undefined || e.conv === conv))
    .map((e) => e.message?.body ?? "");
}

/** Asserts that user_seqs are strictly increasing (exactly once, in order). */
export function assertInOrder(events: TimelineEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1] as TimelineEvent;
    const b = events[i] as TimelineEvent;
    assert.ok(b.user_seq > a.user_seq, `user_seq ${b.user_seq} after ${a.user_seq}`);
  }
}
