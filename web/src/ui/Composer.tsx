// The message box: Enter sends, Shift+Enter starts a new line, Esc cancels an edit; files
// are attached with the button (or pasted / dropped). Typing notices go out at most every
// 3 seconds while the user types.
import { useEffect, useRef, useState } from "preact/hooks";

import type { Message } from "@parley/sdk";
import type { Store } from "../store.js";

const TYPING_EVERY_MS = 3000;

export function Composer({
  store,
  conv,
  editing,
  onEditDone,
}: {
  store: Store;
  conv: number;
  editing: Message | null;
  onEditDone: () => void;
}) {
  const [text, setText] = useState("");
  const box = useRef<HTMLTextAreaElement>(null);
  const files = useRef<HTMLInputElement>(null);
  const lastTyping = useRef(0);

  useEffect(() => {
    if (editing !== null) {
      setText(editing.body);
      box.current?.focus();
    }
  }, [editing]);
  useEffect(() => box.current?.focus(), [conv]);

  const submit = () => {
    const body = text.trim();
    if (body === "") return;
    if (editing !== null) {
      if (body !== editing.body) void store.edit(conv, editing.seq, body);
      onEditDone();
    } else {
      void store.sendText(conv, body);
    }
    setText("");
  };

  const attach = (list: FileList | null) => {
    if (list === null || list.length === 0) return;
    void store.sendFiles(conv, [...list], text.trim());
    setText("");
  };

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      onDragOver={(e) => e.preventDefault()}
      onDrop={(e) => {
        e.preventDefault();
        attach(e.dataTransfer?.files ?? null);
      }}
    >
      {editing !== null && (
        <div class="editing">
          Editing a message · <kbd>Esc</kbd> to cancel
        </div>
      )}
      <button type="button" aria-label="Attach files" title="Attach files" onClick={() => files.current?.click()}>
        Attach
      </button>
      <input ref={files} type="file" multiple hidden aria-hidden="true" onChange={(e) => attach((e.target as HTMLInputElement).files)} />
      <textarea
        ref={box}
        rows={1}
        aria-label="Message"
        placeholder="Write a message"
        maxLength={32768}
        value={text}
        onInput={(e) => {
          setText((e.target as HTMLTextAreaElement).value);
          const now = Date.now();
          if (editing === null && now - lastTyping.current > TYPING_EVERY_MS) {
            lastTyping.current = now;
            store.sendTyping(conv);
          }
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            submit();
          } else if (e.key === "Escape" && editing !== null) {
            e.preventDefault();
            setText("");
            onEditDone();
          }
        }}
        onPaste={(e) => {
          if (e.clipboardData && e.clipboardData.files.length > 0) {
            e.preventDefault();
            attach(e.clipboardData.files);
          }
        }}
      />
      <button type="submit" class="primary" aria-label={editing ? "Save edit" : "Send"}>
        {editing ? "Save" : "Send"}
      </button>
    </form>
  );
}
