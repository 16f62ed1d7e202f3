// Connection: one WebSocket to parleyd (docs/protocol.md §1). Requests get increasing
// integer ids and are matched to replies by id (replies may come out of order); pushes go
// to a handler, batches (`"push":"events"`) already split into single pushes. No retries
// here: ParleyClient (client.ts) builds reliability on top.
import { ParleyError } from "./errors.js";
import type { OpName, Push, ReplyOf, RequestOf } from "./protocol.js";

/** The part of the WHATWG WebSocket this SDK uses (browsers, Node 20 with
 * --experimental-websocket, Node 22+, or the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface ConnectionOptions {
  /** Makes the socket; default: the platform's global WebSocket. */
  webSocketFactory?: WebSocketFactory;
  /** How long opening may take (ms). */
  openTimeoutMs?: number;
  /** Default time a request waits for its reply (ms). */
  callTimeoutMs?: number;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

const OPEN = 1;

export function defaultWebSocketFactory(): WebSocketFactory {
  const WS = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (WS === undefined) {
    throw new Error(
      "no global WebSocket: run Node 20 with --experimental-websocket, or pass webSocketFactory",
    );
  }
  return (url) => new WS(url);
}

interface Pending {
  resolve: (reply: Record<string, unknown>) => void;
  reject: (e: ParleyError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class Connection {
  /** Called for every push, batches split, in arrival order. */
  onPush: (push: Push) => void = () => {};
  /** Called once when the connection ends, for whatever reason. */
  onClose: (info: CloseInfo) => void = () => {};
  /** Time of the last frame received (ms, Date.now()): for heartbeats. */
  lastFrameMs = Date.now();

  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed: CloseInfo | null = null;

  private constructor(
    private readonly ws: WebSocketLike,
    private readonly callTimeoutMs: number,
  ) {}

  /** Opens a WebSocket to `url` (ws:// or wss://, path /ws). */
  static open(url: string, options: ConnectionOptions = {}): Promise<Connection> {
    const factory = options.webSocketFactory ?? defaultWebSocketFactory();
    const openTimeoutMs = options.openTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = factory(url);
      } catch (e) {
        reject(new ParleyError("disconnected", `cannot open ${url}: ${String(e)}`));
        return;
      }
      const conn = new Connection(ws, options.callTimeoutMs ?? 10_000);
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
        ws.close();
        reject(new ParleyError("timeout", `opening ${url} took over ${openTimeoutMs} ms`));
      }, openTimeoutMs);
      ws.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.attach();
        resolve(conn);
      };
      ws.onclose = (ev) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new ParleyError("disconnected", `cannot open ${url} (close ${ev.code} ${ev.reason})`));
      };
      ws.onerror = () => {}; // the close that follows reports it
    });
  }

  get isOpen(): boolean {
    return this.closed === null && this.ws.readyState === OPEN;
  }

  get closeInfo(): CloseInfo | null {
    return this.closed;
  }

  /** Sends one request and resolves with its reply, or rejects with a ParleyError: the
   * server's code, `timeout`, or `disconnected`. */
  call<O extends OpName>(op: O, params: RequestOf<O>, timeoutMs?: number): Promise<ReplyOf<O>> {
    if (!this.isOpen) {
      return Promise.reject(new ParleyError("disconnected", "the connection is closed"));
    }
    const id = this.nextId++;
    const frame = JSON.stringify({ ...params, id, op });
    return new Promise<ReplyOf<O>>((resolve, reject) => {
      const ms = timeoutMs ?? this.callTimeoutMs;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ParleyError("timeout", `no reply to ${op} within ${ms} ms`));
      }, ms);
      this.pending.set(id, {
        resolve: (reply) => resolve(reply as unknown as ReplyOf<O>),
        reject,
        timer,
      });
      try {
        this.ws.send(frame);
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new ParleyError("disconnected", `send failed: ${String(e)}`));
      }
    });
  }

  close(code = 1000, reason = ""): void {
    if (this.closed !== null) return;
    try {
      this.ws.close(code, reason);
    } catch {
      // already closing
    }
    this.finish({ code, reason: reason === "" ? "closed by the client" : reason });
  }

  private attach(): void {
    this.ws.onmessage = (ev) => this.receive(ev.data);
    this.ws.onclose = (ev) => this.finish({ code: ev.code, reason: ev.reason });
    this.ws.onerror = () => {};
  }

  private receive(data: unknown): void {
    this.lastFrameMs = Date.now();
    if (typeof data !== "string") return; // the server sends text frames only
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return; // not JSON: nothing to match it to
    }
    if (typeof frame !== "object" || frame === null) return;
    if (typeof frame.push === "string") {
      this.dispatchPush(frame as unknown as Push);
      return;
    }
    const id = frame.id;
    if (typeof id !== "number") return; // a reply to nothing we sent
    const p = this.pending.get(id);
    if (p === undefined) return; // timed out already
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (frame.ok === true) {
      delete frame.id;
      delete frame.ok;
      p.resolve(frame);
    } else {
      const code = typeof frame.error === "string" ? frame.error : "internal";
      const message = typeof frame.message === "string" ? frame.message : "";
      const retry = frame.retry_after_ms;
      p.reject(
        new ParleyError(code, message, typeof retry === "number" ? { retryAfterMs: retry } : {}),
      );
    }
  }

  private dispatchPush(push: Push): void {
    if (push.push === "events") {
      const inner = (push as { events?: unknown }).events;
      if (!Array.isArray(inner)) return;
      for (const p of inner as Push[]) {
        if (typeof p === "object" && p !== null && typeof p.push === "string") this.onPush(p);
      }
      return;
    }
    this.onPush(push);
  }

  private finish(info: CloseInfo): void {
    if (this.closed !== null) return;
    this.closed = info;
    this.ws.onmessage = this.ws.onclose = this.ws.onopen = null;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ParleyError("disconnected", `connection closed (${info.code} ${info.reason})`));
    }
    this.pending.clear();
    this.onClose(info);
  }
}
