// The root: the login screen until a session runs, then the chat layout — the conversation
// list beside the open conversation (one of the two on a phone-wide screen). The route is
// the hash: #/c/ID opens a conversation, #/c/ID/SEQ jumps to a message.
import { useEffect, useState } from "preact/hooks";

import type { Store } from "../store.js";
import { Conversation } from "./Conversation.js";
import { useHashRoute, useStore } from "./hooks.js";
import { Login } from "./Login.js";
import { Sidebar } from "./Sidebar.js";
import { useNotifications } from "./notify.js";

export function App({ store }: { store: Store }) {
  useStore(store);
  const route = useHashRoute();
  const [phase, setPhase] = useState<"loading" | "login" | "chat">("loading");

  useEffect(() => {
    store.resume().then(
      (ok) => setPhase(ok ? "chat" : "login"),
      () => setPhase("login"),
    );
  }, [store]);
  useEffect(() => {
    if (store.sessionEnded !== null) setPhase("login");
  }, [store.sessionEnded]);

  const match = /^c\/(\d+)(?:\/(\d+))?$/.exec(route);
  const conv = match ? Number(match[1]) : null;
  const focus = match && match[2] ? Number(match[2]) : null;
  useEffect(() => {
    if (phase === "chat") void store.open(conv, focus);
  }, [phase, conv, focus, store]);
  useNotifications(store);

  if (phase === "loading") return <div class="splash" aria-busy="true">Parley</div>;
  if (phase === "login") {
    return <Login store={store} ended={store.sessionEnded} onDone={() => setPhase("chat")} />;
  }
  return (
    <div class={`layout ${conv !== null ? "has-conv" : ""}`}>
      {!store.connected && (
        <div class="banner" role="status">
          Offline — reconnecting… Messages you send now go out when the connection is back.
        </div>
      )}
      {store.error !== null && (
        <div class="toast" role="alert">
          <span>{store.error}</span>
          <button type="button" aria-label="Dismiss error" onClick={() => store.clearError()}>
            ×
          </button>
        </div>
      )}
      <Sidebar store={store} current={conv} />
      <main class="pane" aria-label="Conversation">
        {conv !== null ? (
          <Conversation key={conv} store={store} conv={conv} />
        ) : (
          <div class="empty">Pick a conversation, or start one with +.</div>
        )}
      </main>
    </div>
  );
}
