// Display helpers: times, sizes, and search highlights (in code points, as the server
// counts them).
export function timeOf(ts: number): string {
  const d = new Date(ts);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) {
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  return d.toLocaleDateString([], { month: "short", day: "numeric" });
}

export function sizeOf(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** `text` cut into plain and highlighted pieces; spans are [start, length] in code points. */
export function highlightPieces(text: string, spans: Array<[number, number]>): Array<{ text: string; hit: boolean }> {
  const cps = [...text];
  const out: Array<{ text: string; hit: boolean }> = [];
  let at = 0;
  for (const [start, len] of [...spans].sort((a, b) => a[0] - b[0])) {
    if (start < at || start >= cps.length) continue;
    if (start > at) out.push({ text: cps.slice(at, start).join(""), hit: false });
    out.push({ text: cps.slice(start, start + len).join(""), hit: true });
    at = start + len;
  }
  if (at < cps.length) out.push({ text: cps.slice(at).join(""), hit: false });
  return out;
}
