// Files and images of a message: images show their inline preview at once, then the
// thumbnail (fetched with the device token and shown from a blob URL); a click opens the
// full image. Files are a download button with name and size.
import { useEffect, useState } from "preact/hooks";

import type { Attachment } from "@parley/sdk";
import type { Store } from "../store.js";
import { sizeOf } from "./format.js";

const thumbs = new Map<string, Promise<string>>(); // attachment id -> object URL

function thumbnailUrl(store: Store, id: string): Promise<string> {
  let p = thumbs.get(id);
  if (p === undefined) {
    p = store.client.attachments
      .download(id, { thumbnail: true })
      .then((r) => r.blob())
      .then((b) => URL.createObjectURL(b));
    p.catch(() => thumbs.delete(id));
    thumbs.set(id, p);
  }
  return p;
}

async function saveFile(store: Store, a: Attachment, open: boolean): Promise<void> {
  const blob = await (await store.client.attachments.download(a.id)).blob();
  const url = URL.createObjectURL(blob);
  if (open) {
    window.open(url, "_blank", "noopener");
  } else {
    const link = document.createElement("a");
    link.href = url;
    link.download = a.name;
    link.click();
  }
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function Attachments({ store, atts }: { store: Store; atts: Attachment[] }) {
  return (
    <div class="atts">
      {atts.map((a) => (a.kind === "image" && a.thumbnail ? <Image key={a.id} store={store} a={a} /> : <FileChip key={a.id} store={store} a={a} />))}
    </div>
  );
}

function Image({ store, a }: { store: Store; a: Attachment }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    thumbnailUrl(store, a.id).then(
      (url) => live && setSrc(url),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [a.id]);
  const w = Math.min(320, a.width || 320);
  const h = a.width > 0 ? Math.round((w * a.height) / a.width) : 200;
  const shown = src ?? (a.preview ? `data:image/jpeg;base64,${a.preview}` : undefined);
  return (
    <button type="button" class="image" aria-label={`Open image ${a.name}`} onClick={() => void saveFile(store, a, true)}>
      <img src={shown} alt={a.name} width={w} height={h} class={src ? "" : "blurred"} />
    </button>
  );
}

function FileChip({ store, a }: { store: Store; a: Attachment }) {
  return (
    <button type="button" class="file" aria-label={`Download ${a.name}`} onClick={() => void saveFile(store, a, false).catch((e) => store.fail(e))}>
      {a.name} <small>{sizeOf(a.size)}</small>
    </button>
  );
}
