// @parley/sdk: the TypeScript client of Parley (docs/protocol.md). See ../README.md.
export * from "./protocol.js";
export { ParleyError, isTransient } from "./errors.js";
export { Backoff } from "./backoff.js";
export { Connection, defaultWebSocketFactory } from "./connection.js";
export type { CloseInfo, ConnectionOptions, WebSocketFactory, WebSocketLike } from "./connection.js";
export { ParleyClient } from "./client.js";
export type { ClientEvents, OutgoingMessage, ParleyClientOptions, Session } from "./client.js";
export type { PendingSend } from "./journal.js";
export { MemoryStorage, NamespacedStorage, WebStorage } from "./storage.js";
export type { DomStorage, Storage } from "./storage.js";
export { AttachmentApi, httpBaseOf, sha256Hex } from "./attachments.js";
export type { AttachmentApiOptions, DownloadOptions, UploadOptions } from "./attachments.js";
export { newClientMsgId } from "./ids.js";
