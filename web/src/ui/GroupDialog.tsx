// Dialogs for conversations: start a direct chat, create a group, or manage one (members,
// roles, title, leaving). Esc closes; errors are shown in place.
import { useEffect, useRef, useState } from "preact/hooks";

import type { Member } from "@parley/sdk";
import type { Store } from "../store.js";

type Mode = "direct" | "create" | "manage";

export function GroupDialog({
  store,
  mode,
  conv,
  onClose,
}: {
  store: Store;
  mode: Mode;
  conv?: number;
  onClose: (openConv?: number) => void;
}) {
  const [title, setTitle] = useState("");
  const [names, setNames] = useState("");
  const [members, setMembers] = useState<Member[]>([]);
  const [error, setError] = useState<string | null>(null);
  const first = useRef<HTMLInputElement>(null);
  const summary = conv !== undefined ? store.convs.get(conv) : undefined;
  const myRole = summary?.role ?? "member";

  const reload = async () => {
    if (mode !== "manage" || conv === undefined) return;
    try {
      const r = await store.client.request("conv.members", { conv });
      setMembers(r.members);
      setTitle(store.convs.get(conv)?.title ?? "");
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  useEffect(() => {
    first.current?.focus();
    void reload();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);

  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      await reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const list = () =>
    names
      .split(/[\s,]+/)
      .map((n) => n.trim().toLowerCase())
      .filter(Boolean);

  const submit = (e: Event) => {
    e.preventDefault();
    if (mode === "direct") {
      void act(async () => {
        const r = await store.client.request("conv.open", { user: names.trim().toLowerCase() });
        await store.refreshConvs();
        onClose(r.conversation.conv);
      });
    } else if (mode === "create") {
      void act(async () => {
        const r = await store.client.request("conv.create", { title: title.trim(), members: list() });
        await store.refreshConvs();
        onClose(r.conversation.conv);
      });
    } else if (conv !== undefined && list().length > 0) {
      void act(async () => {
        await store.client.request("conv.add", { conv, users: list() });
        setNames("");
      });
    }
  };

  const heading = mode === "direct" ? "New chat" : mode === "create" ? "New group" : "Group members";
  return (
    <div class="overlay" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="dialog" role="dialog" aria-modal="true" aria-label={heading}>
        <h2>{heading}</h2>
        <form onSubmit={submit}>
          {mode === "create" && (
            <label>
              Group name
              <input ref={first} required maxLength={256} value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
            </label>
          )}
          {mode === "manage" && (myRole === "owner" || myRole === "admin") && (
            <div class="row">
              <label class="grow">
                Group name
                <input maxLength={256} value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
              </label>
              <button
                type="button"
                onClick={() => conv !== undefined && void act(() => store.client.request("conv.rename", { conv, title: title.trim() }))}
              >
                Rename
              </button>
            </div>
          )}
          {(mode !== "manage" || myRole === "owner" || myRole === "admin") && (
            <label>
              {mode === "direct" ? "User name" : mode === "create" ? "Members (names, comma separated)" : "Add members"}
              <input
                ref={mode === "create" ? undefined : first}
                required={mode === "direct"}
                value={names}
                onInput={(e) => setNames((e.target as HTMLInputElement).value)}
              />
            </label>
          )}
          {error !== null && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <div class="row end">
            <button type="button" onClick={() => onClose()}>
              Close
            </button>
            {(mode !== "manage" || myRole !== "member") && (
              <button type="submit" class="primary">
                {mode === "direct" ? "Open chat" : mode === "create" ? "Create group" : "Add"}
              </button>
            )}
          </div>
        </form>
        {mode === "manage" && conv !== undefined && (
          <>
            <ul class="members" aria-label="Members">
              {members.map((m) => (
                <li key={m.user}>
                  <span class="grow">
                    {store.nameOf(m.user)} <small>{m.role}</small>
                  </span>
                  {myRole === "owner" && m.role !== "owner" && (
                    <button
                      type="button"
                      onClick={() =>
                        void act(() =>
                          store.client.request("conv.role", { conv, user: m.user, role: m.role === "admin" ? "member" : "admin" }),
                        )
                      }
                    >
                      {m.role === "admin" ? "Make member" : "Make admin"}
                    </button>
                  )}
                  {m.user !== store.me && m.role !== "owner" && (myRole === "owner" || (myRole === "admin" && m.role === "member")) && (
                    <button
                      type="button"
                      aria-label={`Remove ${store.nameOf(m.user)}`}
                      onClick={() => void act(() => store.client.request("conv.remove", { conv, user: m.user }))}
                    >
                      Remove
                    </button>
                  )}
                </li>
              ))}
            </ul>
            <button
              type="button"
              class="danger"
              onClick={() =>
                void act(async () => {
                  await store.client.request("conv.leave", { conv });
                  await store.refreshConvs();
                  onClose();
                  location.hash = "#/";
                })
              }
            >
              Leave group
            </button>
          </>
        )}
      </div>
    </div>
  );
}
