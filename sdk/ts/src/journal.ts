// The journal of sends not yet acknowledged: one storage key per send, `journal/` and a
// 16-digit number that only grows, so the keys' order is the order of the sends and adding
// or removing one writes one small value (not the whole list).
import type { ConvId, MessageKind, UserRef } from "./protocol.js";
import type { Storage } from "./storage.js";

export interface PendingSend {
  client_msg_id: string;
  conv?: ConvId;
  to?: UserRef;
  kind: MessageKind;
  body: string;
  created_ms: number;
}

const PREFIX = "journal/";

export interface JournalEntry {
  key: string;
  send: PendingSend;
  /** Settles when the entry is stored: send it only then. */
  stored: Promise<void>;
}

export class Journal {
  private list: JournalEntry[] = [];
  private next = 1;

  constructor(private readonly storage: Storage) {}

  async load(): Promise<void> {
    const keys = await this.storage.keys(PREFIX);
    const list: JournalEntry[] = [];
    for (const key of keys) {
      const value = await this.storage.get(key);
      if (value === null) continue;
      list.push({ key, send: JSON.parse(value) as PendingSend, stored: Promise.resolve() });
      this.next = Math.max(this.next, Number(key.slice(PREFIX.length)) + 1);
    }
    this.list = list;
  }

  entries(): PendingSend[] {
    return this.list.map((e) => e.send);
  }

  /** The entries in send order, each with the promise of its storing. */
  pending(): JournalEntry[] {
    return [...this.list];
  }

  /** Appends `send` at once — its place is the order of the add() calls, however long the
   * storage takes — and resolves once it is stored (durably, when the storage is). If it
   * cannot be stored it leaves the journal and the promise rejects. */
  add(send: PendingSend): Promise<void> {
    const key = PREFIX + String(this.next++).padStart(16, "0");
    const stored = this.storage.set(key, JSON.stringify(send));
    const entry: JournalEntry = { key, send, stored };
    this.list.push(entry);
    stored.catch(() => {
      this.list = this.list.filter((e) => e !== entry);
    });
    return stored;
  }

  async remove(send: PendingSend): Promise<void> {
    const i = this.list.findIndex((e) => e.send.client_msg_id === send.client_msg_id);
    if (i < 0) return;
    const [entry] = this.list.splice(i, 1);
    await this.storage.delete((entry as JournalEntry).key);
  }

  async clear(): Promise<void> {
    const list = this.list;
    this.list = [];
    for (const e of list) await this.storage.delete(e.key);
  }
}
