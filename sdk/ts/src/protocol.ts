// The wire protocol of docs/protocol.md as TypeScript types: the objects (§2), every op's
// request and reply (§3), pushes (§1) and error codes (§4). `OPS` and `ERROR_CODES` are
// checked against the tables of docs/protocol.md by test/protocol_table.test.ts, and those
// tables against the server's command table by the server's own tests, so the SDK, the
// docs and the server cannot drift apart.

export type ConvId = number;
export type UserId = number;
export type Seq = number;
/** A user named by id or by name (`to`, `conv.open`, `conv.add`, `block`, …). */
export type UserRef = UserId | string;

export type MessageKind = "text" | "custom" | "file" | "image";

/** §2 Message. */
export interface Message {
  conv: ConvId;
  seq: Seq;
  msg_id: number;
  sender: UserId;
  device: string;
  client_msg_id: string;
  kind: MessageKind | string;
  /** The text; "" once recalled; for file/image a JSON object (see parseAttachmentBody). */
  body: string;
  ts: number;
  recalled?: boolean;
  recalled_by?: UserId;
  recalled_ts?: number;
  edited_ms?: number;
}

export type EventType =
  | "message"
  | "recall"
  | "edit"
  | "read"
  | "receipt"
  | "member_joined"
  | "member_left"
  | "conv_updated"
  | "withheld";

/** §2 Event: one entry of the user's sync timeline. */
export interface TimelineEvent {
  user_seq: Seq;
  /** One of EventType, or a type this SDK does not know yet (skip it). */
  type: EventType | string;
  conv: ConvId;
  seq: Seq;
  actor: UserId;
  subject: UserId;
  ts: number;
  message?: Message;
}

export type ConvKind = "direct" | "group";
export type Role = "owner" | "admin" | "member";

/** §2 Conversation. */
export interface Conversation {
  conv: ConvId;
  kind: ConvKind;
  title: string;
  owner: UserId;
  created_ts: number;
  member_count: number;
  read_fanout: boolean;
}

/** §2 Summary: an entry of `convs`. */
export interface Summary extends Conversation {
  role: Role;
  peer: UserId;
  last_seq: Seq;
  last_ts: number;
  read_seq: Seq;
  unread: number;
  last_message?: Message;
}

export interface Member {
  user: UserId;
  role: Role;
  joined_ts: number;
}

export interface User {
  user: UserId;
  name: string;
}

/** A read-fan-out conversation that moved (`head` push, `sync`'s `heads`). */
export interface Head {
  conv: ConvId;
  seq: Seq;
  ts: number;
}

export interface Device {
  device: string;
  created_ms: number;
  last_seen_ms: number;
  current: boolean;
}

export interface Block {
  user: UserId;
  name: string;
  since_ts: number;
}

export interface SearchHit {
  conv: ConvId;
  seq: Seq;
  msg_id: number;
  sender: UserId;
  ts: number;
  snippet: string;
  /** Matched spans of `snippet` as [start, length] in Unicode code points. */
  highlights: Array<[number, number]>;
}

/** §7 Attachment. */
export interface Attachment {
  id: string;
  conv: ConvId;
  owner: UserId;
  name: string;
  mime: string;
  size: number;
  sha256: string;
  kind: "file" | "image";
  width: number;
  height: number;
  thumbnail: boolean;
  /** Images: a tiny JPEG, base64. */
  preview?: string;
  created_ts: number;
}

/** The body of a stored `file` / `image` message. */
export interface AttachmentBody {
  attachments: Attachment[];
  caption?: string;
}

export interface SendAck {
  conv: ConvId;
  seq: Seq;
  msg_id: number;
  ts: number;
  duplicate: boolean;
  /** This send's event in the sender's own sync timeline; absent on a duplicate re-ack. */
  user_seq?: Seq;
}

export interface SyncPage {
  events: TimelineEvent[];
  next: Seq;
  has_more: boolean;
  reset: boolean;
  heads: Head[];
  heads_next: number;
}

export interface HistoryPage {
  messages: Message[];
  has_more_before: boolean;
  has_more_after: boolean;
  head_seq: Seq;
}

type Empty = Record<string, never>;

/** Every op: what it takes and what it answers (docs/protocol.md §3). */
export interface Ops {
  ping: { req: Empty; res: { ts: number } };
  register: {
    req: { name: string; password: string; invite?: string; push_batch?: boolean };
    res: { user: UserId; name: string };
  };
  login: {
    req: { name: string; password: string; device?: string; push_batch?: boolean };
    res: { user: UserId; name: string; device: string; token: string };
  };
  auth: {
    req: { token: string; device?: string; push_batch?: boolean };
    res: { user: UserId; name: string; device: string };
  };
  logout: { req: Empty; res: Empty };
  users: { req: { ids?: UserId[]; names?: string[] }; res: { users: User[] } };
  send: {
    req: {
      conv?: ConvId;
      to?: UserRef;
      client_msg_id: string;
      body: string;
      kind?: MessageKind;
    };
    res: SendAck;
  };
  sync: { req: { since: Seq; limit?: number; heads_since?: number }; res: SyncPage };
  history: {
    req: { conv: ConvId; before?: Seq; after?: Seq; around_ts?: number; limit?: number };
    res: HistoryPage;
  };
  convs: { req: Empty; res: { conversations: Summary[] } };
  "conv.open": { req: { user: UserRef }; res: { conversation: Conversation } };
  "conv.create": { req: { title: string; members: UserRef[] }; res: { conversation: Conversation } };
  "conv.get": { req: { conv: ConvId }; res: { conversation: Conversation; role: Role } };
  "conv.members": { req: { conv: ConvId }; res: { members: Member[] } };
  "conv.add": { req: { conv: ConvId; users: UserRef[] }; res: Empty };
  "conv.remove": { req: { conv: ConvId; user: UserRef }; res: Empty };
  "conv.leave": { req: { conv: ConvId }; res: Empty };
  "conv.rename": { req: { conv: ConvId; title: string }; res: Empty };
  "conv.role": { req: { conv: ConvId; user: UserRef; role: "admin" | "member" }; res: Empty };
  read: { req: { conv: ConvId; seq: Seq }; res: { read_seq: Seq } };
  recall: { req: { conv: ConvId; seq: Seq }; res: Empty };
  edit: { req: { conv: ConvId; seq: Seq; body: string }; res: { conv: ConvId; seq: Seq; edited_ms: number } };
  typing: { req: { conv: ConvId }; res: Empty };
  search: {
    req: {
      q: string;
      conv?: ConvId;
      from?: UserRef;
      since?: number;
      until?: number;
      order?: "time" | "relevance";
      limit?: number;
      cursor?: string;
    };
    res: { hits: SearchHit[]; next: string | null };
  };
  block: { req: { user: UserRef }; res: Empty };
  unblock: { req: { user: UserRef }; res: Empty };
  blocks: { req: Empty; res: { blocks: Block[] } };
  "password.change": { req: { old_password: string; new_password: string }; res: { revoked: number } };
  devices: { req: Empty; res: { devices: Device[] } };
  "device.revoke": { req: { device: string }; res: Empty };
}

export type OpName = keyof Ops;
export type RequestOf<O extends OpName> = Ops[O]["req"];
export type ReplyOf<O extends OpName> = Ops[O]["res"];

/** Every op, in the order of the server's command table (docs/protocol.md §3). */
export const OPS: readonly OpName[] = [
  "ping",
  "register",
  "login",
  "auth",
  "logout",
  "users",
  "send",
  "sync",
  "history",
  "convs",
  "conv.open",
  "conv.create",
  "conv.get",
  "conv.members",
  "conv.add",
  "conv.remove",
  "conv.leave",
  "conv.rename",
  "conv.role",
  "read",
  "recall",
  "edit",
  "typing",
  "search",
  "block",
  "unblock",
  "blocks",
  "password.change",
  "devices",
  "device.revoke",
];

/** Every error code of docs/protocol.md §4, in its order. */
export const ERROR_CODES = [
  "bad_json",
  "bad_request",
  "unknown_op",
  "binary_not_supported",
  "too_large",
  "invalid_argument",
  "invalid_utf8",
  "unauthenticated",
  "failed_precondition",
  "permission_denied",
  "not_member",
  "not_found",
  "already_exists",
  "recall_window_passed",
  "resource_exhausted",
  "rate_limited",
  "idempotency_conflict",
  "unavailable",
  "io_error",
  "corruption",
  "internal",
] as const;

/** A server error code, or one of the SDK's own: `timeout` (no reply in time),
 * `disconnected` (the connection ended before the reply), `stopped` (the client was stopped),
 * and the HTTP-only codes of attachments (§7). */
export type ErrorCode =
  | (typeof ERROR_CODES)[number]
  | "timeout"
  | "disconnected"
  | "stopped"
  | "checksum_mismatch"
  | "offset_mismatch"
  | "range_not_satisfiable"
  | "quota_exceeded";

/** Close codes of §4 the SDK acts on. */
export const CLOSE_SESSION_REVOKED = 4001;
export const CLOSE_TOO_MANY_SESSIONS = 4002;
export const CLOSE_POLICY = 1008;

export type Push =
  | { push: "event"; event: TimelineEvent }
  | { push: "head"; conv: ConvId; seq: Seq; ts: number }
  | { push: "typing"; conv: ConvId; user: UserId }
  | { push: "resync"; reason: string }
  | { push: "events"; events: Push[] };

/** Event types whose entry carries the message (§2). */
export function eventCarriesMessage(type: string): boolean {
  return type === "message" || type === "recall" || type === "edit";
}

/** The attachments and caption of a `file` / `image` message, or null if `m` is not one
 * (or its body is not the server's description). */
export function parseAttachmentBody(m: Message): AttachmentBody | null {
  if (m.kind !== "file" && m.kind !== "image") return null;
  if (m.recalled || m.body === "") return null;
  try {
    const parsed = JSON.parse(m.body) as unknown;
    if (typeof parsed !== "object" || parsed === null) return null;
    const atts = (parsed as { attachments?: unknown }).attachments;
    if (!Array.isArray(atts) || atts.some((a) => typeof a !== "object" || a === null)) return null;
    const caption = (parsed as { caption?: unknown }).caption;
    return {
      attachments: atts as Attachment[],
      ...(typeof caption === "string" ? { caption } : {}),
    };
  } catch {
    return null;
  }
}
