// ParleyClient: what an app uses to never lose, duplicate or reorder anything — the
// TypeScript twin of the C++ ReliableClient (src/client/reliable_client.h).
//
// - Resumes with the stored token (`auth`); after any disconnect it reconnects with
//   exponential backoff and full jitter. A connection that stays silent for `heartbeatMs`
//   is pinged; no answer within `callTimeoutMs` and it is dropped and replaced (a frozen
//   server or a cut network is noticed even when the socket never reports it).
// - Delivers the user's sync-timeline events to `onEvent` exactly once, in user_seq order:
//   after each (re)connect it pulls from the persisted cursor until `has_more` is false; a
//   push that leaves a gap, or a `resync`, triggers a pull; pushes at or below the cursor
//   are ignored. The cursor is stored after `onEvent` returns (or its promise settles), so
//   a crash of the app re-delivers at most the event being handled (its user_seq tells).
// - The server does not push a send's own event back to the connection that sent it; the
//   ack carries its user_seq. Those seqs are remembered and the cursor steps over them, so
//   the client's own sends cause no gap and no extra pull.
// - send() stores the message in the journal BEFORE it goes out; every journaled send is
//   (re)sent after each (re)connect with the same client_msg_id until it is acknowledged.
//   The server's idempotency makes retries harmless. Journaled sends go out one at a time,
//   in order, so they are stored in send order. `rate_limited` and `unavailable` wait
//   `retry_after_ms` on the same connection; other transient failures reconnect and retry; a refusal for good
//   (not_member, invalid_argument, too_large…) drops the send and rejects its promise.
// - A revoked or expired session (close code 4001, or `auth` answering unauthenticated)
//   ends the loop with a `sessionEnded` event: log in again. The journal is kept.
//
// Everything runs on the caller's event loop; the handlers run one at a time, in order.
import { AttachmentApi, httpBaseOf } from "./attachments.js";
import { Backoff } from "./backoff.js";
import { Connection, type CloseInfo, type WebSocketFactory } from "./connection.js";
import { Emitter } from "./emitter.js";
import { isTransient, ParleyError } from "./errors.js";
import { newClientMsgId } from "./ids.js";
import { Journal, type PendingSend } from "./journal.js";
import {
  CLOSE_SESSION_REVOKED,
  eventCarriesMessage,
  type ConvId,
  type Head,
  type MessageKind,
  type OpName,
  type Push,
  type ReplyOf,
  type RequestOf,
  type SendAck,
  type Seq,
  type TimelineEvent,
  type UserId,
  type UserRef,
} from "./protocol.js";
import type { Storage } from "./storage.js";

export interface Session {
  user: UserId;
  name: string;
  device: string;
  token: string;
}

export interface ParleyClientOptions {
  /** The server's WebSocket URL: ws://HOST:PORT/ws or wss://HOST:PORT/ws. */
  url: string;
  /** Where the session, the cursor and the journal live (storage.ts). */
  storage: Storage;
  /** Called for every event of the sync timeline, exactly once and in order. */
  onEvent?: (event: TimelineEvent) => void | Promise<void>;
  webSocketFactory?: WebSocketFactory;
  /** fetch for attachments (default: the global one). */
  fetch?: typeof fetch;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Events asked per `sync` (the server clamps to 1000). */
  syncPage?: number;
  /** How long a request waits for its reply. */
  callTimeoutMs?: number;
  /** A connection with no frame for this long is pinged (0: never). */
  heartbeatMs?: number;
  /** Pushes waiting to be handled beyond this are dropped and pulled later instead. */
  maxQueuedPushes?: number;
  /** A device with no stored cursor starts at the end of the timeline instead of
   * replaying it from the start: for apps that show conversations from `convs` and
   * `history` (a web tab) rather than from their own copy of every event. */
  startAtLatest?: boolean;
}

export interface OutgoingMessage {
  conv?: ConvId;
  to?: UserRef;
  body: string;
  kind?: MessageKind;
  /** Leave out for a fresh one; give one to make the send idempotent across app restarts. */
  clientMsgId?: string;
}

export interface ClientEvents {
  /** Connected (after auth and the catch-up) or disconnected, and why. */
  connection: { connected: boolean; error?: ParleyError };
  /** A read-fan-out conversation moved: fetch it with `history` after your last seq. */
  head: Head;
  typing: { conv: ConvId; user: UserId };
  /** The cursor was outside the server's retained timeline: refetch convs and history. */
  reset: void;
  /** A journaled send finished: acknowledged, or refused for good. */
  sendDone: { send: PendingSend; ack?: SendAck; error?: ParleyError };
  /** The journal changed (a send was queued or finished): for "pending" indicators. */
  journal: PendingSend[];
  /** The token stopped working (logout elsewhere, revoked, expired): log in again. */
  sessionEnded: { reason: string };
  /** onEvent or a listener threw; the client carries on (the event counts as handled). */
  error: unknown;
}

const SESSION_KEY = "session";
const CURSOR_KEY = "cursor";

interface Waiter {
  resolve: (ack: SendAck) => void;
  reject: (e: ParleyError) => void;
}

export class ParleyClient {
  private readonly opts: Required<Omit<ParleyClientOptions, "onEvent" | "webSocketFactory" | "fetch">> &
    Pick<ParleyClientOptions, "onEvent" | "webSocketFactory" | "fetch">;
  private readonly emitter = new Emitter<ClientEvents>((e) => this.emitter.emit("error", e));
  private readonly journal: Journal;

  private session: Session | null = null;
  private cursorValue: Seq = 0;
  private headsSince = 0;
  private loaded: Promise<void> | null = null;
  private isLoaded = false;
  private hasCursor = false;

  private running = false;
  private stopped = true;
  private loop: Promise<void> | null = null;
  private conn: Connection | null = null;
  private isConnected = false;
  private reconnectCount = 0;

  private inbox: Push[] = [];
  private pushesDropped = false;
  private newSends = false;
  private readonly ownSeqs = new Set<Seq>();
  private readonly waiters = new Map<string, Waiter>();
  private wakeUp: (() => void) | null = null;
  private sleepCancel: (() => void) | null = null;
  private attachmentApi: AttachmentApi | null = null;

  constructor(options: ParleyClientOptions) {
    this.opts = {
      backoffMinMs: 250,
      backoffMaxMs: 10_000,
      syncPage: 500,
      callTimeoutMs: 10_000,
      heartbeatMs: 20_000,
      maxQueuedPushes: 10_000,
      startAtLatest: false,
      ...options,
    };
    this.journal = new Journal(options.storage);
  }

  // ---- state -------------------------------------------------------------------------

  on<K extends keyof ClientEvents>(name: K, fn: (payload: ClientEvents[K]) => void): () => void {
    return this.emitter.on(name, fn);
  }

  /** The last user_seq handled. */
  get cursor(): Seq {
    return this.cursorValue;
  }
  get connected(): boolean {
    return this.isConnected;
  }
  get reconnects(): number {
    return this.reconnectCount;
  }
  /** The logged-in user (after load/login), or null. */
  get me(): Omit<Session, "token"> | null {
    if (this.session === null) return null;
    const { user, name, device } = this.session;
    return { user, name, device };
  }
  /** The device token, for HTTP requests of your own (attachments take it already). */
  get token(): string | null {
    return this.session?.token ?? null;
  }
  /** Sends stored but not yet acknowledged, oldest first. */
  get pendingSends(): PendingSend[] {
    return this.journal.entries();
  }

  /** Reads the stored session, cursor and journal. Resolves to whether a session is stored. */
  async load(): Promise<boolean> {
    this.loaded ??= (async () => {
      const s = await this.opts.storage.get(SESSION_KEY);
      this.session = s === null ? null : (JSON.parse(s) as Session);
      const c = await this.opts.storage.get(CURSOR_KEY);
      if (c !== null) {
        const parsed = JSON.parse(c) as { cursor: number; heads_since: number };
        this.cursorValue = parsed.cursor;
        this.headsSince = parsed.heads_since;
        this.hasCursor = true;
      }
      await this.journal.load();
      this.isLoaded = true;
    })();
    await this.loaded;
    return this.session !== null;
  }

  // ---- session -----------------------------------------------------------------------

  /** Creates an account (on a connection of its own; does not log in). */
  async register(name: string, password: string, invite?: string): Promise<ReplyOf<"register">> {
    const conn = await this.open();
    try {
      return await conn.call("register", { name, password, ...(invite ? { invite } : {}) });
    } finally {
      conn.close();
    }
  }

  /** Logs in (a new device unless `device` is given), stores the session and starts. */
  async login(name: string, password: string, device?: string): Promise<Session> {
    await this.load();
    const conn = await this.open();
    let reply: ReplyOf<"login">;
    try {
      reply = await conn.call("login", {
        name,
        password,
        push_batch: true,
        ...(device !== undefined ? { device } : {}),
      });
    } catch (e) {
      conn.close();
      throw e;
    }
    const previous = this.session;
    const session: Session = { user: reply.user, name: reply.name, device: reply.device, token: reply.token };
    if (previous !== null && previous.user !== session.user) {
      // Another account: its cursor and journal mean nothing here.
      await this.clearState();
    }
    this.session = session;
    await this.opts.storage.set(SESSION_KEY, JSON.stringify(session));
    this.startLoop(conn);
    return session;
  }

  /** Resumes the stored session. Rejects if there is none (log in first). */
  async start(): Promise<void> {
    if (!(await this.load())) throw new ParleyError("unauthenticated", "no stored session: log in first");
    this.startLoop(null);
  }

  /** Stops and closes. Journaled sends stay stored (the next start resends them); their
   * promises reject with `stopped`. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.conn?.close(1000, "client stopped");
    this.wake();
    this.sleepCancel?.();
    const loop = this.loop;
    if (loop !== null) await loop;
    this.rejectWaiters(new ParleyError("stopped", "client stopped; the send stays journaled"));
  }

  /** The network changed (a browser's `online` / `offline` event, a laptop waking up): drop
   * the current connection, if any, and try again now instead of after the backoff. */
  reconnectNow(): void {
    this.conn?.close(1000, "network changed");
    this.sleepCancel?.();
  }

  /** Revokes this device's token, then forgets the session, cursor and journal. */
  async logout(): Promise<void> {
    try {
      if (this.conn !== null && this.isConnected) await this.conn.call("logout", {});
    } finally {
      await this.stop();
      await this.clearState();
      await this.opts.storage.delete(SESSION_KEY);
      this.session = null;
    }
  }

  // ---- requests ----------------------------------------------------------------------

  /** Stores the message, then sends it (again after reconnects) until acknowledged.
   * Resolves with the first ack (`duplicate: true` if an earlier attempt got through) or
   * rejects with a refusal for good. */
  async send(m: OutgoingMessage): Promise<SendAck> {
    // No await before the journal takes its place unless the state is still loading, so
    // that messages are journaled, and sent, in the order of the send() calls.
    if (!this.isLoaded) await this.load();
    if (this.session === null) throw new ParleyError("unauthenticated", "log in first");
    if ((m.conv === undefined) === (m.to === undefined)) {
      throw new ParleyError("invalid_argument", "a message needs exactly one of conv and to");
    }
    const pending: PendingSend = {
      client_msg_id: m.clientMsgId ?? newClientMsgId(),
      kind: m.kind ?? "text",
      body: m.body,
      created_ms: Date.now(),
      ...(m.conv !== undefined ? { conv: m.conv } : { to: m.to as UserRef }),
    };
    const done = new Promise<SendAck>((resolve, reject) => {
      this.waiters.set(pending.client_msg_id, { resolve, reject });
    });
    done.catch(() => {}); // a stop() while it is being stored must not be "unhandled"
    try {
      await this.journal.add(pending); // durable before it may go out
    } catch (e) {
      this.waiters.delete(pending.client_msg_id);
      throw new ParleyError("io_error", `cannot store the send: ${String(e)}`);
    }
    this.emitter.emit("journal", this.journal.entries());
    this.newSends = true;
    this.wake();
    return done;
  }

  /** Any op on the live connection; waits up to callTimeoutMs for one. Not retried: for
   * sends use send(). */
  async request<O extends OpName>(op: O, params: RequestOf<O>, timeoutMs?: number): Promise<ReplyOf<O>> {
    const ms = timeoutMs ?? this.opts.callTimeoutMs;
    const conn = await this.liveConnection(ms);
    return conn.call(op, params, ms);
  }

  /** Attachments (docs/protocol.md §7) with this session's token. */
  get attachments(): AttachmentApi {
    this.attachmentApi ??= new AttachmentApi({
      baseUrl: httpBaseOf(this.opts.url),
      token: () => this.session?.token ?? null,
      storage: this.opts.storage,
      ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
    });
    return this.attachmentApi;
  }

  // ---- the connection loop -------------------------------------------------------------

  private open(): Promise<Connection> {
    return Connection.open(this.opts.url, {
      callTimeoutMs: this.opts.callTimeoutMs,
      openTimeoutMs: this.opts.callTimeoutMs,
      ...(this.opts.webSocketFactory ? { webSocketFactory: this.opts.webSocketFactory } : {}),
    });
  }

  private startLoop(first: Connection | null): void {
    if (this.running) {
      first?.close();
      return;
    }
    this.running = true;
    this.stopped = false;
    this.loop = this.run(first).finally(() => {
      this.running = false;
      this.loop = null;
    });
  }

  private async run(first: Connection | null): Promise<void> {
    const backoff = new Backoff(this.opts.backoffMinMs, this.opts.backoffMaxMs);
    let initial = first;
    for (let attempt = 0; !this.stopped; attempt++) {
      if (attempt > 0) {
        this.reconnectCount++;
        await this.sleep(backoff.nextDelayMs());
        if (this.stopped) break;
      }
      let why: ParleyError;
      let conn: Connection | null = initial;
      initial = null;
      let stopHeartbeat = () => {};
      try {
        if (conn === null) conn = await this.connect();
        else this.adopt(conn);
        this.conn = conn;
        stopHeartbeat = this.heartbeat(conn);
        // Catch up first: resend what is journaled, pull what was missed.
        await this.sendJournaled(conn);
        await this.pull(conn);
        backoff.reset();
        this.setConnected(true);
        await this.serve(conn);
        why = closedError(conn.closeInfo);
      } catch (e) {
        why = e instanceof ParleyError ? e : new ParleyError("disconnected", String(e));
      }
      stopHeartbeat();
      conn?.close(1000, "reconnecting");
      this.conn = null;
      if (this.stopped) break;
      this.setConnected(false, why);
      const ended = sessionEndReason(why, conn?.closeInfo ?? null);
      if (ended !== null) {
        this.stopped = true;
        this.rejectWaiters(new ParleyError("unauthenticated", `${ended}; the send stays journaled`));
        this.emitter.emit("sessionEnded", { reason: ended });
        break;
      }
    }
    this.isConnected = false;
  }

  /** Opens a connection and resumes the session on it. */
  private async connect(): Promise<Connection> {
    const session = this.session;
    if (session === null) throw new ParleyError("unauthenticated", "no session");
    const conn = await this.open();
    this.adopt(conn);
    try {
      const reply = await conn.call("auth", { token: session.token, device: session.device, push_batch: true });
      if (reply.user !== session.user || reply.name !== session.name || reply.device !== session.device) {
        this.session = { ...session, user: reply.user, name: reply.name, device: reply.device };
        await this.opts.storage.set(SESSION_KEY, JSON.stringify(this.session));
      }
    } catch (e) {
      conn.close();
      if (e instanceof ParleyError && e.code === "unauthenticated") {
        throw new ParleyError("unauthenticated", `session ended: ${e.message}`);
      }
      throw e;
    }
    return conn;
  }

  private adopt(conn: Connection): void {
    this.inbox = [];
    this.pushesDropped = false;
    conn.onPush = (push) => {
      if (this.inbox.length >= this.opts.maxQueuedPushes) {
        this.pushesDropped = true; // the gap is pulled once the inbox drains
      } else {
        this.inbox.push(push);
      }
      this.wake();
    };
    conn.onClose = () => this.wake();
  }

  /** Pings a quiet connection; closes it when the ping goes unanswered. */
  private heartbeat(conn: Connection): () => void {
    const every = this.opts.heartbeatMs;
    if (every <= 0) return () => {};
    let probing = false;
    const timer = setInterval(() => {
      if (probing || !conn.isOpen || Date.now() - conn.lastFrameMs < every) return;
      probing = true;
      conn
        .call("ping", {}, this.opts.callTimeoutMs)
        .catch(() => conn.close(1000, "heartbeat unanswered"))
        .finally(() => {
          probing = false;
        });
    }, Math.max(50, Math.floor(every / 4)));
    return () => clearInterval(timer);
  }

  private async serve(conn: Connection): Promise<void> {
    while (!this.stopped && conn.isOpen) {
      if (this.inbox.length === 0 && !this.newSends && !this.pushesDropped) {
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
        });
        continue;
      }
      if (this.newSends) {
        this.newSends = false;
        await this.sendJournaled(conn);
      }
      while (this.inbox.length > 0 && !this.stopped) {
        await this.handlePush(conn, this.inbox.shift() as Push);
      }
      if (this.pushesDropped) {
        this.pushesDropped = false;
        await this.pull(conn);
      }
    }
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private async handlePush(conn: Connection, push: Push): Promise<void> {
    switch (push.push) {
      case "resync":
        return this.pull(conn);
      case "head":
        this.emitter.emit("head", { conv: push.conv, seq: push.seq, ts: push.ts });
        return;
      case "typing":
        this.emitter.emit("typing", { conv: push.conv, user: push.user });
        return;
      case "event":
        break;
      default:
        return; // a push this SDK does not know
    }
    const e = push.event;
    if (typeof e !== "object" || e === null || typeof e.user_seq !== "number") return;
    await this.skipOwn();
    if (e.user_seq <= this.cursorValue) return; // delivered already (a pull overtook it)
    if (e.user_seq === this.cursorValue + 1 && (e.message !== undefined || !eventCarriesMessage(e.type))) {
      await this.deliver(e);
      await this.skipOwn();
      return;
    }
    await this.pull(conn); // a gap: pushes were lost; the sync timeline has them
  }

  private async pull(conn: Connection): Promise<void> {
    if (this.opts.startAtLatest && !this.hasCursor) {
      // A cursor beyond the end is answered with a reset to the end (docs/protocol.md §3).
      const end = await conn.call("sync", { since: Number.MAX_SAFE_INTEGER, limit: 1 });
      this.cursorValue = end.next;
      this.headsSince = end.heads_next;
      await this.saveCursor();
    }
    for (let pages = 0; ; pages++) {
      if (this.stopped) throw new ParleyError("stopped", "client stopped");
      const since = this.cursorValue;
      const page = await conn.call("sync", {
        since,
        limit: this.opts.syncPage,
        heads_since: this.headsSince,
      });
      if (page.reset) {
        // The cursor is outside what the server holds (older than it keeps, or beyond its
        // end after a restore): continue from what it returns.
        this.cursorValue = page.events.length > 0 ? (page.events[0] as TimelineEvent).user_seq - 1 : page.next;
        this.ownSeqs.clear();
        this.emitter.emit("reset", undefined);
      }
      for (const e of page.events) {
        if (e.user_seq <= this.cursorValue) continue;
        if (this.ownSeqs.delete(e.user_seq)) continue; // our own send: stepped over below
        await this.deliver(e);
      }
      for (const h of page.heads) this.emitter.emit("head", h);
      this.cursorValue = page.reset ? page.next : Math.max(this.cursorValue, page.next);
      this.headsSince = Math.max(this.headsSince, page.heads_next);
      for (const own of this.ownSeqs) if (own <= this.cursorValue) this.ownSeqs.delete(own);
      await this.saveCursor();
      if (!page.has_more) return;
      if (page.next <= since && !page.reset) throw new ParleyError("internal", "sync says has_more but made no progress");
      if (pages > 1_000_000) throw new ParleyError("internal", "sync does not end");
    }
  }

  private async deliver(e: TimelineEvent): Promise<void> {
    try {
      await this.opts.onEvent?.(e);
    } catch (err) {
      this.emitter.emit("error", err);
    }
    this.cursorValue = Math.max(this.cursorValue, e.user_seq);
    await this.saveCursor();
  }

  /** The ack of one of our sends named its own event. */
  private async noteOwn(userSeq: Seq | undefined): Promise<void> {
    if (userSeq === undefined || userSeq <= this.cursorValue) return;
    this.ownSeqs.add(userSeq);
    await this.skipOwn();
  }

  /** Moves the cursor over the own seqs that follow it. */
  private async skipOwn(): Promise<void> {
    const before = this.cursorValue;
    while (this.ownSeqs.has(this.cursorValue + 1)) {
      this.ownSeqs.delete(this.cursorValue + 1);
      this.cursorValue += 1;
    }
    if (this.cursorValue !== before) await this.saveCursor();
  }

  private saveCursor(): Promise<void> {
    this.hasCursor = true;
    return this.opts.storage.set(CURSOR_KEY, JSON.stringify({ cursor: this.cursorValue, heads_since: this.headsSince }));
  }

  private async sendJournaled(conn: Connection): Promise<void> {
    for (const entry of this.journal.pending()) {
      try {
        await entry.stored; // never send what the journal does not hold yet
      } catch {
        continue; // not stored: send() reported it
      }
      const p = entry.send;
      for (;;) {
        if (this.stopped) throw new ParleyError("stopped", "client stopped");
        let ack: SendAck;
        try {
          ack = await conn.call("send", {
            client_msg_id: p.client_msg_id,
            body: p.body,
            kind: p.kind,
            ...(p.conv !== undefined ? { conv: p.conv } : { to: p.to as UserRef }),
          });
        } catch (e) {
          const err = e instanceof ParleyError ? e : new ParleyError("disconnected", String(e));
          if ((err.code === "rate_limited" || err.code === "unavailable") && conn.isOpen) {
            // Wait on this connection as told: reconnecting would not make it sooner (a
            // server whose disk is behind refuses writes for a moment, docs/protocol.md §5).
            await this.sleep(Math.min(60_000, Math.max(10, err.retryAfterMs ?? 1000)));
            continue;
          }
          // Transient, or the session is ending (unauthenticated): keep it journaled.
          if (isTransient(err) || err.code === "unauthenticated") throw err;
          await this.finish(p, undefined, err);
          break;
        }
        await this.finish(p, ack, undefined);
        await this.noteOwn(ack.user_seq);
        break;
      }
    }
  }

  private async finish(p: PendingSend, ack: SendAck | undefined, error: ParleyError | undefined): Promise<void> {
    try {
      await this.journal.remove(p);
    } catch {
      // Stays stored: a later run resends it and the server answers duplicate: true.
    }
    const waiter = this.waiters.get(p.client_msg_id);
    this.waiters.delete(p.client_msg_id);
    if (waiter !== undefined) {
      if (ack !== undefined) waiter.resolve(ack);
      else waiter.reject(error as ParleyError);
    }
    this.emitter.emit("sendDone", { send: p, ...(ack ? { ack } : {}), ...(error ? { error } : {}) });
    this.emitter.emit("journal", this.journal.entries());
  }

  private setConnected(connected: boolean, error?: ParleyError): void {
    if (this.isConnected === connected && connected) return;
    this.isConnected = connected;
    this.emitter.emit("connection", { connected, ...(error ? { error } : {}) });
  }

  private async liveConnection(timeoutMs: number): Promise<Connection> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.conn !== null && this.isConnected && this.conn.isOpen) return this.conn;
      if (!this.running) throw new ParleyError("unavailable", "not connected: start() or login() first");
      const left = deadline - Date.now();
      if (left <= 0) throw new ParleyError("unavailable", "not connected");
      await new Promise<void>((resolve) => {
        const off = this.on("connection", () => {
          clearTimeout(timer);
          off();
          resolve();
        });
        const timer = setTimeout(() => {
          off();
          resolve();
        }, left);
      });
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.sleepCancel = done;
    });
  }

  private rejectWaiters(e: ParleyError): void {
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of waiters) w.reject(e);
  }

  private async clearState(): Promise<void> {
    this.hasCursor = false;
    this.cursorValue = 0;
    this.headsSince = 0;
    this.ownSeqs.clear();
    await this.opts.storage.delete(CURSOR_KEY);
    await this.journal.clear();
  }
}

function closedError(info: CloseInfo | null): ParleyError {
  if (info === null) return new ParleyError("disconnected", "connection closed");
  return new ParleyError("disconnected", `connection closed (${info.code} ${info.reason})`);
}

/** Why the session is over for good, or null if a reconnect may work. */
function sessionEndReason(why: ParleyError, close: CloseInfo | null): string | null {
  if (close !== null && close.code === CLOSE_SESSION_REVOKED) return close.reason || "session revoked";
  if (why.code === "unauthenticated") return why.message;
  return null;
}
