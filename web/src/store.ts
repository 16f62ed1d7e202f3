// The web client's state around one ParleyClient: the conversation list, the loaded pages
// of each conversation, sends in flight and failed, typing, receipts, user names and the
// connection. Components subscribe and re-render on `changed`; every mutation goes through
// a method here, so the rules (what an event does to the list, when to mark read) live in
// one place.
import {
  ParleyClient,
  ParleyError,
  type Attachment,
  type ConvId,
  type Message,
  type PendingSend,
  type SearchHit,
  type Summary,
  type TimelineEvent,
  type UserId,
} from "@parley/sdk";

import { TabStorage } from "./tab_storage.js";

export interface ConvPages {
  /** Loaded messages, ascending by seq, contiguous. */
  messages: Message[];
  hasMoreBefore: boolean;
  hasMoreAfter: boolean;
  loading: boolean;
  /** A message to scroll to and mark (a search hit). */
  focusSeq: number | null;
}

export interface FailedSend {
  send: PendingSend;
  error: string;
}

export interface UploadProgress {
  conv: ConvId;
  name: string;
  sent: number;
  total: number;
}

const TYPING_SHOWN_MS = 5000;
const PAGE = 50;

export class Store {
  readonly client: ParleyClient;
  convs = new Map<ConvId, Summary>();
  pages = new Map<ConvId, ConvPages>();
  names = new Map<UserId, string>();
  typing = new Map<ConvId, Map<UserId, number>>();
  peerRead = new Map<ConvId, number>();
  failed: FailedSend[] = [];
  uploads: UploadProgress[] = [];
  connected = false;
  sessionEnded: string | null = null;
  openConv: ConvId | null = null;
  convsLoaded = false;
  error: string | null = null;

  private listeners = new Set<() => void>();
  private notifyQueued = false;
  private convsRefresh: ReturnType<typeof setTimeout> | null = null;
  private readTimer: ReturnType<typeof setTimeout> | null = null;
  private pendingNames = new Set<UserId>();
  private namesTimer: ReturnType<typeof setTimeout> | null = null;
  onIncoming: (m: Message) => void = () => {};

  constructor(url: string) {
    this.client = new ParleyClient({
      url,
      storage: new TabStorage(),
      startAtLatest: true,
      onEvent: (e) => this.onEvent(e),
    });
    this.client.on("connection", (c) => {
      this.connected = c.connected;
      if (c.connected) {
        this.sessionEnded = null;
        void this.refreshConvs();
        void this.catchUpOpen();
      }
      this.changed();
    });
    this.client.on("sessionEnded", (e) => {
      this.sessionEnded = e.reason;
      this.changed();
    });
    this.client.on("typing", (t) => this.onTyping(t.conv, t.user));
    this.client.on("journal", () => this.changed());
    this.client.on("reset", () => {
      this.pages.clear();
      void this.refreshConvs();
    });
    this.client.on("head", (h) => {
      const s = this.convs.get(h.conv);
      if (s && h.seq > s.last_seq) {
        s.last_seq = h.seq;
        s.last_ts = h.ts;
      }
      void this.loadNewer(h.conv);
    });
    setInterval(() => this.expireTyping(), 1000);
    // The browser knows first when the network goes or comes back.
    addEventListener("offline", () => this.client.reconnectNow());
    addEventListener("online", () => this.client.reconnectNow());
  }

  // ---- subscription ----

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Coalesces the notifications of one task into one render. */
  changed(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const fn of [...this.listeners]) fn();
    });
  }

  // ---- session ----

  get me(): UserId {
    return this.client.me?.user ?? 0;
  }

  async resume(): Promise<boolean> {
    if (!(await this.client.load())) return false;
    await this.client.start();
    return true;
  }

  async login(name: string, password: string, register: boolean): Promise<void> {
    if (register) await this.client.register(name, password);
    await this.client.login(name, password);
    this.sessionEnded = null;
    this.changed();
  }

  async logout(): Promise<void> {
    await this.client.logout().catch(() => {});
    this.convs.clear();
    this.pages.clear();
    this.convsLoaded = false;
    this.changed();
  }

  // ---- conversation list ----

  /** Conversations, most recently active first. */
  sortedConvs(): Summary[] {
    return [...this.convs.values()].sort((a, b) => b.last_ts - a.last_ts || b.conv - a.conv);
  }

  titleOf(s: Summary | undefined): string {
    if (s === undefined) return "";
    if (s.kind === "group") return s.title;
    return this.nameOf(s.peer);
  }

  nameOf(user: UserId): string {
    const n = this.names.get(user);
    if (n !== undefined) return n;
    this.pendingNames.add(user);
    this.namesTimer ??= setTimeout(() => void this.fetchNames(), 0);
    return `user ${user}`;
  }

  async refreshConvs(): Promise<void> {
    try {
      const r = await this.client.request("convs", {});
      const next = new Map<ConvId, Summary>();
      for (const s of r.conversations) next.set(s.conv, s);
      this.convs = next;
      this.convsLoaded = true;
      for (const s of r.conversations) if (s.kind === "direct") this.nameOf(s.peer);
      this.changed();
    } catch (e) {
      this.fail(e);
    }
  }

  private refreshConvsSoon(): void {
    if (this.convsRefresh !== null) return;
    this.convsRefresh = setTimeout(() => {
      this.convsRefresh = null;
      void this.refreshConvs();
    }, 100);
  }

  private async fetchNames(): Promise<void> {
    this.namesTimer = null;
    const ids = [...this.pendingNames].filter((id) => !this.names.has(id)).slice(0, 500);
    this.pendingNames.clear();
    if (ids.length === 0) return;
    try {
      const r = await this.client.request("users", { ids });
      for (const u of r.users) this.names.set(u.user, u.name);
      this.changed();
    } catch {
      // names are cosmetic: "user 12" stays until the next try
    }
  }

  // ---- one conversation ----

  pagesOf(conv: ConvId): ConvPages {
    let p = this.pages.get(conv);
    if (p === undefined) {
      p = { messages: [], hasMoreBefore: true, hasMoreAfter: false, loading: false, focusSeq: null };
      this.pages.set(conv, p);
    }
    return p;
  }

  /** Opens a conversation: its latest page, or the page around `focusSeq`. */
  async open(conv: ConvId | null, focusSeq: number | null = null): Promise<void> {
    this.openConv = conv;
    this.changed();
    if (conv === null) return;
    const p = this.pagesOf(conv);
    if (focusSeq !== null) {
      p.messages = [];
      p.focusSeq = focusSeq;
      await this.loadPage(conv, { after: Math.max(0, focusSeq - PAGE / 2 - 1), limit: PAGE }, "replace");
    } else if (p.messages.length === 0 || p.hasMoreAfter) {
      p.messages = [];
      p.focusSeq = null;
      await this.loadPage(conv, { limit: PAGE }, "replace");
    }
    this.markReadSoon();
  }

  async loadOlder(conv: ConvId): Promise<void> {
    const p = this.pagesOf(conv);
    if (p.loading || !p.hasMoreBefore || p.messages.length === 0) return;
    await this.loadPage(conv, { before: p.messages[0]!.seq, limit: PAGE }, "prepend");
  }

  async loadNewer(conv: ConvId): Promise<void> {
    const p = this.pages.get(conv);
    if (p === undefined || p.loading || p.messages.length === 0) return;
    await this.loadPage(conv, { after: p.messages.at(-1)!.seq, limit: PAGE }, "append");
  }

  private async loadPage(
    conv: ConvId,
    anchor: { before?: number; after?: number; limit: number },
    how: "replace" | "prepend" | "append",
  ): Promise<void> {
    const p = this.pagesOf(conv);
    p.loading = true;
    this.changed();
    try {
      const page = await this.client.request("history", { conv, ...anchor });
      for (const m of page.messages) this.nameOf(m.sender);
      if (how === "replace") {
        p.messages = page.messages;
        p.hasMoreBefore = page.has_more_before;
        p.hasMoreAfter = page.has_more_after;
      } else if (how === "prepend") {
        p.messages = mergeBySeq(page.messages, p.messages);
        p.hasMoreBefore = page.has_more_before;
      } else {
        p.messages = mergeBySeq(p.messages, page.messages);
        p.hasMoreAfter = page.has_more_after;
      }
    } catch (e) {
      if (e instanceof ParleyError && e.code === "not_member") {
        this.pages.delete(conv);
        if (this.openConv === conv) this.error = "You are not a member of that conversation.";
      } else {
        this.fail(e);
      }
    } finally {
      p.loading = false;
      this.changed();
    }
  }

  async recall(conv: ConvId, seq: number): Promise<void> {
    try {
      await this.client.request("recall", { conv, seq });
      await this.refreshMessage(conv, seq);
    } catch (e) {
      this.fail(e);
    }
  }

  async edit(conv: ConvId, seq: number, body: string): Promise<void> {
    try {
      await this.client.request("edit", { conv, seq, body });
      await this.refreshMessage(conv, seq);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Reads message `seq` again (a file message: the stored body describes the files). */
  private async refreshMessage(conv: ConvId, seq: number): Promise<void> {
    try {
      const page = await this.client.request("history", { conv, after: seq - 1, limit: 1 });
      for (const m of page.messages) this.insert(m);
      this.changed();
    } catch (e) {
      this.fail(e);
    }
  }

  /** After a reconnect: what the open conversation missed is in its history. */
  private async catchUpOpen(): Promise<void> {
    if (this.openConv !== null) await this.loadNewer(this.openConv);
  }

  /** Marks the open conversation read up to its last message (debounced), if the tab is
   * visible and the latest page is shown. */
  markReadSoon(): void {
    if (this.readTimer !== null) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      const conv = this.openConv;
      if (conv === null || document.visibilityState !== "visible") return;
      const s = this.convs.get(conv);
      const p = this.pages.get(conv);
      const last = p?.messages.at(-1)?.seq ?? 0;
      if (s === undefined || p === undefined || p.hasMoreAfter || last <= s.read_seq) return;
      this.client
        .request("read", { conv, seq: last })
        .then((r) => {
          s.read_seq = Math.max(s.read_seq, r.read_seq);
          s.unread = Math.max(0, s.last_seq - s.read_seq);
          this.changed();
        })
        .catch((e) => this.fail(e));
    }, 150);
  }

  // ---- sending ----

  async sendText(conv: ConvId, body: string): Promise<void> {
    await this.sendBody(conv, "text", body);
  }

  async sendFiles(conv: ConvId, files: File[], caption: string): Promise<void> {
    const atts: Attachment[] = [];
    for (const file of files) {
      const progress: UploadProgress = { conv, name: file.name, sent: 0, total: file.size };
      this.uploads = [...this.uploads, progress];
      this.changed();
      try {
        atts.push(
          await this.client.attachments.upload(file, {
            conv,
            name: file.name,
            mime: file.type || "application/octet-stream",
            onProgress: (sent, total) => {
              progress.sent = sent;
              progress.total = total;
              this.changed();
            },
          }),
        );
      } catch (e) {
        this.fail(e);
        return;
      } finally {
        this.uploads = this.uploads.filter((u) => u !== progress);
        this.changed();
      }
    }
    const kind = atts.every((a) => a.kind === "image") ? "image" : "file";
    const body = JSON.stringify({ attachments: atts.map((a) => a.id), ...(caption ? { caption } : {}) });
    await this.sendBody(conv, kind, body);
  }

  retry(f: FailedSend): void {
    this.failed = this.failed.filter((x) => x !== f);
    this.changed();
    if (f.send.conv !== undefined) void this.sendBody(f.send.conv, f.send.kind, f.send.body);
  }

  dismiss(f: FailedSend): void {
    this.failed = this.failed.filter((x) => x !== f);
    this.changed();
  }

  private async sendBody(conv: ConvId, kind: PendingSend["kind"], body: string): Promise<void> {
    const p = this.pagesOf(conv);
    try {
      const ack = await this.client.send({ conv, body, kind });
      const me = this.client.me;
      // Our own message is not pushed back to this tab: the ack is its record.
      this.insert({
        conv,
        seq: ack.seq,
        msg_id: ack.msg_id,
        sender: me?.user ?? 0,
        device: me?.device ?? "",
        client_msg_id: "",
        kind,
        body,
        ts: ack.ts,
      });
      if (kind !== "text") void this.refreshMessage(conv, ack.seq); // the server's description
      if (p.messages.at(-1)?.seq === ack.seq) this.markReadSoon();
    } catch (e) {
      if (e instanceof ParleyError && e.code === "stopped") return; // stays journaled
      const failed: FailedSend = {
        send: { client_msg_id: "", conv, kind, body, created_ms: Date.now() },
        error: e instanceof Error ? e.message : String(e),
      };
      this.failed = [...this.failed, failed];
      this.changed();
    }
  }

  sendTyping(conv: ConvId): void {
    this.client.request("typing", { conv }).catch(() => {}); // ephemeral: losing one is fine
  }

  // ---- search ----

  async search(q: string, cursor?: string): Promise<{ hits: SearchHit[]; next: string | null }> {
    return this.client.request("search", { q, limit: 30, ...(cursor ? { cursor } : {}) });
  }

  // ---- events ----

  private onEvent(e: TimelineEvent): void {
    switch (e.type) {
      case "message":
      case "edit":
      case "recall":
        if (e.message) this.onMessage(e.message, e.type === "message");
        break;
      case "read": {
        const s = this.convs.get(e.conv);
        if (s) {
          s.read_seq = Math.max(s.read_seq, e.seq);
          s.unread = Math.max(0, s.last_seq - s.read_seq);
        }
        break;
      }
      case "receipt":
        this.peerRead.set(e.conv, Math.max(this.peerRead.get(e.conv) ?? 0, e.seq));
        break;
      case "member_joined":
      case "member_left":
      case "conv_updated":
        if (e.type === "member_left" && e.subject === this.me) {
          this.convs.delete(e.conv);
          this.pages.delete(e.conv);
          if (this.openConv === e.conv) this.openConv = null;
        }
        this.refreshConvsSoon();
        break;
      default:
        break; // withheld, or a type this client does not know
    }
    this.changed();
  }

  private onMessage(m: Message, isNew: boolean): void {
    this.nameOf(m.sender);
    this.insert(m);
    const s = this.convs.get(m.conv);
    if (s === undefined) {
      this.refreshConvsSoon();
    } else if (isNew && m.seq > s.last_seq) {
      s.last_seq = m.seq;
      s.last_ts = m.ts;
      s.last_message = m;
      if (m.sender !== this.me) s.unread = Math.max(0, s.last_seq - s.read_seq);
    } else if (s.last_message?.seq === m.seq) {
      s.last_message = m;
    }
    if (isNew && m.sender !== this.me) {
      this.typing.get(m.conv)?.delete(m.sender);
      if (this.openConv === m.conv) this.markReadSoon();
      this.onIncoming(m);
    }
  }

  /** Puts `m` into its conversation's loaded pages if it belongs there (the newest page is
   * loaded and `m` follows it, or `m` replaces a message already shown). */
  private insert(m: Message): void {
    const p = this.pages.get(m.conv);
    if (p === undefined || p.loading) return;
    const i = p.messages.findIndex((x) => x.seq === m.seq);
    if (i >= 0) {
      p.messages = [...p.messages.slice(0, i), m, ...p.messages.slice(i + 1)];
      return;
    }
    const last = p.messages.at(-1)?.seq ?? 0;
    if (p.hasMoreAfter) return; // the user reads older pages; newer ones load on scroll
    if (m.seq === last + 1 || p.messages.length === 0) {
      p.messages = [...p.messages, m];
    } else if (m.seq > last + 1) {
      void this.loadNewer(m.conv); // a gap (a read-fan-out group): fetch it in order
    }
  }

  // ---- typing ----

  private onTyping(conv: ConvId, user: UserId): void {
    let m = this.typing.get(conv);
    if (m === undefined) {
      m = new Map();
      this.typing.set(conv, m);
    }
    m.set(user, Date.now() + TYPING_SHOWN_MS);
    this.nameOf(user);
    this.changed();
  }

  typingIn(conv: ConvId): string[] {
    const m = this.typing.get(conv);
    if (m === undefined) return [];
    const now = Date.now();
    return [...m.entries()].filter(([, until]) => until > now).map(([u]) => this.nameOf(u));
  }

  private expireTyping(): void {
    const now = Date.now();
    let any = false;
    for (const m of this.typing.values()) {
      for (const [u, until] of m) {
        if (until <= now) {
          m.delete(u);
          any = true;
        }
      }
    }
    if (any) this.changed();
  }

  // ---- errors ----

  fail(e: unknown): void {
    this.error = e instanceof Error ? e.message : String(e);
    this.changed();
  }

  clearError(): void {
    this.error = null;
    this.changed();
  }
}

/** Messages of `a` and `b` (each ascending by seq) in one ascending list, each seq once
 * (the later copy wins: it is the fresher one). */
export function mergeBySeq(a: Message[], b: Message[]): Message[] {
  const bySeq = new Map<number, Message>();
  for (const m of a) bySeq.set(m.seq, m);
  for (const m of b) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((x, y) => x.seq - y.seq);
}
