// The conversation list (most recent first, unread badges, previews), the search box and
// its results, and the buttons to start a chat or a group.
import { useEffect, useRef, useState } from "preact/hooks";

import type { SearchHit } from "@parley/sdk";
import type { Store } from "../store.js";
import { highlightPieces, timeOf } from "./format.js";
import { GroupDialog } from "./GroupDialog.js";
import { navigate } from "./hooks.js";
import { preview } from "./notify.js";
import { toggleTheme } from "./theme.js";

const FIRST_ROWS = 60;

export function Sidebar({ store, current }: { store: Store; current: number | null }) {
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [searching, setSearching] = useState(false);
  const [dialog, setDialog] = useState<"chat" | "group" | null>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  // The first screen shows the first rows at once; the rest of a long list follows a
  // moment later, so that a 1,000-conversation account paints quickly.
  const [rowLimit, setRowLimit] = useState(FIRST_ROWS);
  const convs = store.sortedConvs();
  useEffect(() => {
    if (convs.length <= rowLimit) return;
    const timer = setTimeout(() => setRowLimit(Number.MAX_SAFE_INTEGER), 50);
    return () => clearTimeout(timer);
  }, [convs.length > rowLimit]);

  const runSearch = async (q: string, cursor?: string) => {
    if (q.trim() === "") {
      setHits(null);
      return;
    }
    setSearching(true);
    try {
      const r = await store.search(q.trim(), cursor);
      setHits(cursor ? [...(hits ?? []), ...r.hits] : r.hits);
      setNext(r.next);
    } catch (e) {
      store.fail(e);
    } finally {
      setSearching(false);
    }
  };

  const me = store.client.me;
  return (
    <nav class="sidebar" aria-label="Conversations">
      <header class="side-head">
        <strong class="me" title={`Signed in as ${me?.name ?? ""}`}>
          {me?.name}
        </strong>
        <button type="button" aria-label="New chat" title="New chat" onClick={() => setDialog("chat")}>
          +
        </button>
        <button type="button" aria-label="New group" title="New group" onClick={() => setDialog("group")}>
          ⚑
        </button>
        <button type="button" aria-label="Toggle dark theme" title="Theme" onClick={() => toggleTheme()}>
          ◐
        </button>
        {typeof Notification !== "undefined" && Notification.permission === "default" && (
          <button
            type="button"
            aria-label="Enable notifications"
            title="Notify me of new messages"
            onClick={() => void Notification.requestPermission().then(() => store.changed())}
          >
            Alerts
          </button>
        )}
        <button type="button" aria-label="Sign out" title="Sign out" onClick={() => void store.logout()}>
          Sign out
        </button>
      </header>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void runSearch(query);
        }}
      >
        <input
          ref={searchBox}
          type="search"
          aria-label="Search messages"
          placeholder="Search messages"
          value={query}
          onInput={(e) => {
            const q = (e.target as HTMLInputElement).value;
            setQuery(q);
            if (q === "") setHits(null);
          }}
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              setQuery("");
              setHits(null);
            }
          }}
        />
      </form>
      {hits !== null ? (
        <ul class="results" aria-label="Search results" aria-busy={searching}>
          {hits.length === 0 && !searching && <li class="empty">No messages match.</li>}
          {hits.map((h) => (
            <li key={`${h.conv}-${h.seq}`}>
              <a href={`#/c/${h.conv}/${h.seq}`} class="hit">
                <span class="hit-head">
                  {store.titleOf(store.convs.get(h.conv))} · {store.nameOf(h.sender)} · {timeOf(h.ts)}
                </span>
                <span class="snippet">
                  {highlightPieces(h.snippet, h.highlights).map((p, i) => (p.hit ? <mark key={i}>{p.text}</mark> : p.text))}
                </span>
              </a>
            </li>
          ))}
          {next !== null && (
            <li>
              <button type="button" class="link" onClick={() => void runSearch(query, next)}>
                More results
              </button>
            </li>
          )}
        </ul>
      ) : (
        <ul class="convs" aria-label="Conversation list">
          {store.convsLoaded && store.convs.size === 0 && <li class="empty">No conversations yet.</li>}
          {convs.slice(0, rowLimit).map((s) => (
            <li key={s.conv}>
              <a
                href={`#/c/${s.conv}`}
                class={`conv ${s.conv === current ? "current" : ""}`}
                aria-current={s.conv === current ? "page" : undefined}
                aria-label={`${store.titleOf(s)}${s.unread > 0 ? `, ${s.unread} unread` : ""}`}
              >
                <span class="conv-title">{store.titleOf(s)}</span>
                <span class="conv-time">{s.last_ts > 0 ? timeOf(s.last_ts) : ""}</span>
                <span class="conv-preview">
                  {s.last_message
                    ? s.last_message.recalled
                      ? "(recalled)"
                      : preview(s.last_message.kind, s.last_message.body)
                    : ""}
                </span>
                {s.unread > 0 && <span class="badge">{s.unread}</span>}
              </a>
            </li>
          ))}
        </ul>
      )}
      {dialog !== null && (
        <GroupDialog
          store={store}
          mode={dialog === "chat" ? "direct" : "create"}
          onClose={(conv) => {
            setDialog(null);
            if (conv !== undefined) navigate(`c/${conv}`);
          }}
        />
      )}
    </nav>
  );
}
