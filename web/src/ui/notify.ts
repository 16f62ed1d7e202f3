// New-message notifications while the tab is hidden (the Notification API, once the user
// allowed it), and the unread count in the tab's title.
import { useEffect } from "preact/hooks";

import type { Store } from "../store.js";

export function useNotifications(store: Store): void {
  useEffect(() => {
    store.onIncoming = (m) => {
      if (document.visibilityState === "visible") return;
      if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
      const s = store.convs.get(m.conv);
      const title = s?.kind === "group" ? `${store.nameOf(m.sender)} in ${s.title}` : store.nameOf(m.sender);
      const n = new Notification(title, { body: preview(m.kind, m.body), tag: `conv-${m.conv}` });
      n.onclick = () => {
        focus();
        location.hash = `#/c/${m.conv}`;
      };
    };
    const onVisible = () => {
      if (document.visibilityState === "visible") store.markReadSoon();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, [store]);
  let unread = 0;
  for (const s of store.convs.values()) unread += s.unread;
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Parley` : "Parley";
  }, [unread]);
}

export function preview(kind: string, body: string): string {
  if (kind === "file" || kind === "image") {
    try {
      const parsed = JSON.parse(body) as { caption?: string; attachments?: Array<{ name?: string }> };
      const names = (parsed.attachments ?? []).map((a) => a.name ?? "").filter(Boolean);
      return parsed.caption || (kind === "image" ? "Photo" : names.join(", ") || "File");
    } catch {
      return kind === "image" ? "Photo" : "File";
    }
  }
  if (kind === "custom") return "(custom message)";
  return body;
}
