// The open conversation: its header, the virtualised history (older pages load as you
// scroll up, newer ones as you scroll down after a jump), messages still being sent or
// failed, uploads in progress, who is typing, and the composer.
import { useState } from "preact/hooks";

import type { Message } from "@parley/sdk";
import type { Store } from "../store.js";
import { Composer } from "./Composer.js";
import { GroupDialog } from "./GroupDialog.js";
import { navigate } from "./hooks.js";
import { MessageItem } from "./MessageItem.js";
import { preview } from "./notify.js";
import { VirtualList, type Row } from "./VirtualList.js";

export function Conversation({ store, conv }: { store: Store; conv: number }) {
  const [editing, setEditing] = useState<Message | null>(null);
  const [manage, setManage] = useState(false);
  const summary = store.convs.get(conv);
  const pages = store.pages.get(conv);
  const group = summary?.kind === "group";
  const peerRead = store.peerRead.get(conv) ?? 0;

  if (summary === undefined && store.convsLoaded && pages === undefined) {
    return (
      <div class="empty" role="alert">
        You are not a member of that conversation.{" "}
        <a href="#/" onClick={() => navigate("")}>
          Back
        </a>
      </div>
    );
  }

  const rows: Row[] = [];
  if (pages?.hasMoreBefore === false) {
    rows.push({ key: "start", render: () => <div class="start">This is the beginning of the conversation.</div> });
  }
  for (const m of pages?.messages ?? []) {
    rows.push({
      key: `m${m.seq}`,
      render: () => (
        <MessageItem
          store={store}
          m={m}
          group={group}
          readByPeer={!group && m.seq <= peerRead}
          focused={pages?.focusSeq === m.seq}
          onEdit={setEditing}
        />
      ),
    });
  }
  if (pages?.hasMoreAfter !== true) {
    for (const p of store.client.pendingSends.filter((s) => s.conv === conv)) {
      rows.push({
        key: `p${p.client_msg_id}`,
        render: () => (
          <article class="msg mine pending" aria-label="Sending">
            <p class="body">{preview(p.kind, p.body)}</p>
            <div class="meta">Sending…</div>
          </article>
        ),
      });
    }
    store.failed
      .filter((f) => f.send.conv === conv)
      .forEach((f, i) => {
        rows.push({
          key: `f${i}${f.send.created_ms}`,
          render: () => (
            <article class="msg mine failed" aria-label="Not sent">
              <p class="body">{preview(f.send.kind, f.send.body)}</p>
              <div class="meta">
                Not sent: {f.error}{" "}
                <button type="button" onClick={() => store.retry(f)}>
                  Retry
                </button>{" "}
                <button type="button" onClick={() => store.dismiss(f)}>
                  Discard
                </button>
              </div>
            </article>
          ),
        });
      });
  }

  const typing = store.typingIn(conv);
  const uploads = store.uploads.filter((u) => u.conv === conv);
  return (
    <section class="conversation" aria-label={store.titleOf(summary)}>
      <header class="conv-head">
        <a class="back" href="#/" aria-label="Back to conversations">
          ‹
        </a>
        <h2>{store.titleOf(summary)}</h2>
        {group && (
          <button type="button" onClick={() => setManage(true)} aria-label="Members and settings">
            {summary?.member_count ?? ""} members
          </button>
        )}
      </header>
      <VirtualList
        rows={rows}
        label={`Messages with ${store.titleOf(summary)}`}
        focusKey={pages?.focusSeq != null ? `m${pages.focusSeq}` : null}
        onNearTop={() => void store.loadOlder(conv)}
        onNearBottom={() => {
          if (pages?.hasMoreAfter) void store.loadNewer(conv);
        }}
      />
      {uploads.map((u) => (
        <div class="upload" key={u.name}>
          Uploading {u.name}
          <progress max={u.total} value={u.sent} aria-label={`Uploading ${u.name}`} />
        </div>
      ))}
      <div class="typing" aria-live="polite">
        {typing.length > 0 ? `${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…` : ""}
      </div>
      <Composer store={store} conv={conv} editing={editing} onEditDone={() => setEditing(null)} />
      {manage && <GroupDialog store={store} mode="manage" conv={conv} onClose={() => setManage(false)} />}
    </section>
  );
}
