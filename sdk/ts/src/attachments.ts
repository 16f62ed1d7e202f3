// Attachments over HTTP on parleyd's port (docs/protocol.md §7): resumable uploads in the
// server's part size, with progress; the upload id is kept in the client's storage so that
// an upload cut by a lost network, a closed tab or a killed process continues from the
// server's offset instead of starting again; downloads with ranges, following a presigned
// redirect to S3 (the browser's and Node's fetch drop the Authorization header there).
import { Backoff } from "./backoff.js";
import { ParleyError } from "./errors.js";
import { toHex } from "./ids.js";
import type { Attachment, ConvId } from "./protocol.js";
import type { Storage } from "./storage.js";

export interface AttachmentApiOptions {
  /** http(s)://HOST:PORT of the server. */
  baseUrl: string;
  /** The device token (read for every request, so a new login is picked up). */
  token: () => string | null;
  /** Where unfinished uploads are remembered; without it an upload cannot resume after
   * the process ends. */
  storage?: Storage;
  fetch?: typeof fetch;
  /** Tries per request on a network failure, 429 or 503 before giving up. */
  attempts?: number;
}

export interface UploadOptions {
  conv: ConvId;
  /** The file name shown to members: 1–255 bytes, no '/', '\\' or control characters. */
  name: string;
  mime?: string;
  /** Bytes the server has, after each part (and once at the start when resuming). */
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

export interface DownloadOptions {
  /** The thumbnail (images) instead of the file. */
  thumbnail?: boolean;
  /** Bytes [start, end] (inclusive; end left out: to the end of the file). */
  range?: [number, number?];
  signal?: AbortSignal;
}

interface UploadState {
  upload_id: string;
  offset: number;
  size: number;
  part_bytes: number;
}

/** ws://HOST:PORT/ws → http://HOST:PORT (wss → https). */
export function httpBaseOf(wsUrl: string): string {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === "wss:" ? "https:" : "http:";
  u.pathname = "";
  u.search = "";
  u.hash = "";
  return u.toString().replace(/\/$/, "");
}

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes)));
}

export class AttachmentApi {
  private readonly fetchFn: typeof fetch;
  private readonly attempts: number;

  constructor(private readonly o: AttachmentApiOptions) {
    this.fetchFn = o.fetch ?? globalThis.fetch.bind(globalThis);
    this.attempts = o.attempts ?? 6;
  }

  /** Uploads `data` for conversation `conv` and returns the attachment to name in a `send`
   * of kind "file" or "image". The same bytes for the same conversation continue an
   * unfinished upload of them. */
  async upload(data: Blob | Uint8Array | ArrayBuffer, opts: UploadOptions): Promise<Attachment> {
    const bytes =
      data instanceof Uint8Array
        ? ownBuffer(data)
        : data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : new Uint8Array(await data.arrayBuffer());
    const sha256 = await sha256Hex(bytes);
    const resumeKey = `upload/${opts.conv}/${sha256}/${bytes.length}`;
    let state = await this.resume(resumeKey, opts.signal);
    if (state === null) {
      state = await this.create(bytes.length, sha256, opts);
      await this.o.storage?.set(resumeKey, state.upload_id);
    }
    opts.onProgress?.(state.offset, state.size);
    while (state.offset < state.size) {
      const end = Math.min(state.size, state.offset + state.part_bytes);
      state.offset = await this.sendPart(state, bytes.subarray(state.offset, end), opts.signal);
      opts.onProgress?.(state.offset, state.size);
    }
    const done = await this.json<{ attachment: Attachment }>(
      "POST",
      `/v1/uploads/${state.upload_id}/complete`,
      { signal: opts.signal },
    );
    await this.o.storage?.delete(resumeKey);
    return done.attachment;
  }

  /** Gives up an unfinished upload. */
  async abort(uploadId: string): Promise<void> {
    await this.request("DELETE", `/v1/uploads/${encodeURIComponent(uploadId)}`, {});
  }

  async info(id: string): Promise<Attachment> {
    return this.json<Attachment>("GET", `/v1/attachments/${encodeURIComponent(id)}/info`, {});
  }

  /** The server's answer (200, or 206 for a range) with the body unread: stream it, or
   * take `.blob()` for an object URL. */
  async download(id: string, opts: DownloadOptions = {}): Promise<Response> {
    const path = `/v1/attachments/${encodeURIComponent(id)}${opts.thumbnail ? "/thumbnail" : ""}`;
    const headers: Record<string, string> = {};
    if (opts.range) {
      const [start, end] = opts.range;
      headers.Range = `bytes=${start}-${end === undefined ? "" : end}`;
    }
    return this.request("GET", path, { headers, signal: opts.signal });
  }

  /** The whole file (or range) in memory. */
  async bytes(id: string, opts: DownloadOptions = {}): Promise<Uint8Array> {
    const res = await this.download(id, opts);
    return new Uint8Array(await res.arrayBuffer());
  }

  // ---- steps ----

  private async resume(key: string, signal?: AbortSignal): Promise<UploadState | null> {
    const id = await this.o.storage?.get(key);
    if (id === null || id === undefined) return null;
    try {
      const u = await this.json<UploadState>("GET", `/v1/uploads/${encodeURIComponent(id)}`, { signal });
      return { upload_id: id, offset: u.offset, size: u.size, part_bytes: u.part_bytes };
    } catch (e) {
      if (e instanceof ParleyError && (e.status === 404 || e.status === 403)) {
        await this.o.storage?.delete(key); // expired or collected: start again
        return null;
      }
      throw e;
    }
  }

  private async create(size: number, sha256: string, opts: UploadOptions): Promise<UploadState> {
    const body = JSON.stringify({
      conv: opts.conv,
      size,
      sha256,
      mime: opts.mime ?? "application/octet-stream",
      name: opts.name,
    });
    return this.json<UploadState>("POST", "/v1/uploads", {
      body,
      headers: { "Content-Type": "application/json" },
      signal: opts.signal,
    });
  }

  /** Sends the part at `state.offset`; returns the server's new offset. A 409 says where the
   * server is (a part that got through before the connection broke): the caller goes on
   * from there. */
  private async sendPart(state: UploadState, part: Uint8Array<ArrayBuffer>, signal?: AbortSignal): Promise<number> {
    try {
      const res = await this.request("PATCH", `/v1/uploads/${state.upload_id}`, {
        headers: {
          "Upload-Offset": String(state.offset),
          "Content-Type": "application/offset+octet-stream",
        },
        body: part,
        signal,
      });
      const next = Number(res.headers.get("Upload-Offset"));
      return Number.isFinite(next) && next > state.offset ? next : state.offset + part.length;
    } catch (e) {
      if (e instanceof ParleyError && e.code === "offset_mismatch" && e.offset !== undefined) return e.offset;
      throw e;
    }
  }

  private async json<T>(method: string, path: string, init: RequestInitLite): Promise<T> {
    const res = await this.request(method, path, init);
    return (await res.json()) as T;
  }

  /** One request, retried on network failures, 429 and 503 with backoff (honouring
   * Retry-After); any other error status becomes a ParleyError with the server's code. */
  private async request(method: string, path: string, init: RequestInitLite): Promise<Response> {
    const backoff = new Backoff(200, 5000);
    for (let attempt = 1; ; attempt++) {
      const token = this.o.token();
      if (token === null) throw new ParleyError("unauthenticated", "log in first");
      let res: Response;
      try {
        res = await this.fetchFn(this.o.baseUrl + path, {
          method,
          headers: { ...init.headers, Authorization: `Bearer ${token}` },
          ...(init.body !== undefined ? { body: init.body } : {}),
          ...(init.signal ? { signal: init.signal } : {}),
          redirect: "follow",
        });
      } catch (e) {
        if (init.signal?.aborted) throw e;
        if (attempt >= this.attempts) throw new ParleyError("disconnected", `${method} ${path}: ${String(e)}`);
        await delay(backoff.nextDelayMs());
        continue;
      }
      if (res.ok) return res;
      const err = await errorOf(res);
      if ((res.status === 429 || res.status === 503) && attempt < this.attempts) {
        await delay(err.retryAfterMs ?? backoff.nextDelayMs());
        continue;
      }
      throw err;
    }
  }
}

interface RequestInitLite {
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  signal?: AbortSignal | undefined;
}

async function errorOf(res: Response): Promise<ParleyError> {
  let code = `http_${res.status}`;
  let message = res.statusText;
  let requestId = res.headers.get("X-Request-Id") ?? undefined;
  let offset: number | undefined;
  try {
    const body = (await res.json()) as Record<string, unknown>;
    if (typeof body.error === "string") code = body.error;
    if (typeof body.message === "string") message = body.message;
    if (typeof body.request_id === "string") requestId = body.request_id;
    if (typeof body.offset === "number") offset = body.offset;
  } catch {
    // no JSON body (a 405, or a HEAD)
  }
  const retryAfter = Number(res.headers.get("Retry-After"));
  return new ParleyError(code, message, {
    status: res.status,
    ...(requestId !== undefined ? { requestId } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
  });
}

/** `u` itself when it views a plain ArrayBuffer (fetch and WebCrypto take no shared memory),
 * else a copy. */
function ownBuffer(u: Uint8Array): Uint8Array<ArrayBuffer> {
  return u.buffer instanceof ArrayBuffer ? (u as Uint8Array<ArrayBuffer>) : new Uint8Array(u);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
