// One message bubble: sender (in groups), text or attachments, time, edited / recalled
// marks, "Read" under your last message the peer has read, and the actions on your own
// messages (edit, recall).
import { parseAttachmentBody, type Message } from "@parley/sdk";

import type { Store } from "../store.js";
import { Attachments } from "./Attachments.js";
import { timeOf } from "./format.js";

export function MessageItem({
  store,
  m,
  group,
  readByPeer,
  focused,
  onEdit,
}: {
  store: Store;
  m: Message;
  group: boolean;
  readByPeer: boolean;
  focused: boolean;
  onEdit: (m: Message) => void;
}) {
  const mine = m.sender === store.me;
  const atts = parseAttachmentBody(m);
  return (
    <article
      class={`msg ${mine ? "mine" : ""} ${focused ? "focused" : ""}`}
      aria-label={`${mine ? "You" : store.nameOf(m.sender)} at ${timeOf(m.ts)}`}
      data-seq={m.seq}
    >
      {group && !mine && <div class="sender">{store.nameOf(m.sender)}</div>}
      {m.recalled ? (
        <p class="body recalled">Message recalled</p>
      ) : atts !== null ? (
        <>
          <Attachments store={store} atts={atts.attachments} />
          {atts.caption && <p class="body">{atts.caption}</p>}
        </>
      ) : (
        <p class="body">{m.kind === "custom" ? "(custom message)" : m.body}</p>
      )}
      <div class="meta">
        {m.edited_ms !== undefined && !m.recalled && <span>edited · </span>}
        <time dateTime={new Date(m.ts).toISOString()}>{timeOf(m.ts)}</time>
        {mine && readByPeer && <span class="read"> · Read</span>}
      </div>
      {mine && !m.recalled && (
        <div class="actions">
          {m.kind === "text" && (
            <button type="button" aria-label="Edit message" onClick={() => onEdit(m)}>
              Edit
            </button>
          )}
          <button
            type="button"
            aria-label="Recall message"
            onClick={() => void store.recall(m.conv, m.seq)}
          >
            Recall
          </button>
        </div>
      )}
    </article>
  );
}
