// A virtualised list for long histories (10,000 messages and more): only the rows near the
// viewport are in the DOM, between two spacers sized from the measured (or, until seen,
// estimated) heights of the others. The first visible row is the anchor: when rows are
// added above it (older history) or rows above it change height, the scroll position is
// moved by exactly that much, so nothing on screen jumps. At the bottom the list sticks to
// the bottom as new rows arrive.
import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useReducer, useRef } from "preact/hooks";

export interface Row {
  key: string;
  render: () => ComponentChildren;
}

const ESTIMATE = 56;
const OVERSCAN_PX = 800;
const EDGE_PX = 600;

export function VirtualList({
  rows,
  label,
  focusKey,
  onNearTop,
  onNearBottom,
}: {
  rows: Row[];
  label: string;
  /** Scroll this row into view once it is in `rows` (a search hit). */
  focusKey: string | null;
  onNearTop: () => void;
  onNearBottom: () => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const elements = useRef(new Map<string, HTMLElement>());
  const anchor = useRef<{ key: string; delta: number } | null>(null);
  const stick = useRef(true);
  const focused = useRef<string | null>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const frame = useRef(0);

  // Offsets of every row from the measured or estimated heights.
  const offsets = new Array<number>(rows.length + 1);
  offsets[0] = 0;
  for (let i = 0; i < rows.length; i++) {
    offsets[i + 1] = (offsets[i] as number) + (heights.current.get((rows[i] as Row).key) ?? ESTIMATE);
  }
  const total = offsets[rows.length] as number;
  const el = scroller.current;
  const top = el ? el.scrollTop : Math.max(0, total - 800);
  const view = el ? el.clientHeight : 800;
  let first = upperBound(offsets, top - OVERSCAN_PX) - 1;
  first = Math.max(0, Math.min(first, rows.length - 1));
  let last = first;
  while (last < rows.length - 1 && (offsets[last + 1] as number) < top + view + OVERSCAN_PX) last++;
  if (stick.current) last = rows.length - 1;
  if (stick.current) first = Math.max(0, Math.min(first, upperBound(offsets, total - view - OVERSCAN_PX) - 1));

  const indexOf = (key: string) => rows.findIndex((r) => r.key === key);

  // After each render: measure, then put the anchor (or the bottom) back where it was.
  useLayoutEffect(() => {
    const s = scroller.current;
    if (s === null) return;
    let changed = false;
    for (const [key, node] of elements.current) {
      const h = node.offsetHeight;
      if (h > 0 && heights.current.get(key) !== h) {
        heights.current.set(key, h);
        changed = true;
      }
    }
    if (focusKey !== null && focused.current !== focusKey && indexOf(focusKey) >= 0) {
      focused.current = focusKey;
      stick.current = false;
      anchor.current = { key: focusKey, delta: -Math.floor(s.clientHeight / 3) };
    }
    const positionNow = () => {
      if (stick.current) {
        s.scrollTop = s.scrollHeight;
        return;
      }
      const a = anchor.current;
      if (a === null) return;
      const i = indexOf(a.key);
      if (i < 0) return;
      let at = 0;
      for (let k = 0; k < i; k++) at += heights.current.get((rows[k] as Row).key) ?? ESTIMATE;
      const want = Math.max(0, at + a.delta);
      if (Math.abs(s.scrollTop - want) > 1) s.scrollTop = want;
    };
    positionNow();
    if (changed) rerender(0);
  });

  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  const onScroll = () => {
    const s = scroller.current;
    if (s === null) return;
    stick.current = s.scrollHeight - s.scrollTop - s.clientHeight < 40;
    // The anchor: the first row whose bottom is below the top of the viewport.
    const i = Math.min(rows.length - 1, Math.max(0, upperBound(offsets, s.scrollTop) - 1));
    const row = rows[i];
    if (row !== undefined) anchor.current = { key: row.key, delta: s.scrollTop - (offsets[i] as number) };
    if (s.scrollTop < EDGE_PX) onNearTop();
    if (s.scrollHeight - s.scrollTop - s.clientHeight < EDGE_PX) onNearBottom();
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => rerender(0));
  };

  const shown = rows.slice(first, last + 1);
  elements.current.clear();
  return (
    <div class="scroller" ref={scroller} onScroll={onScroll} role="log" aria-label={label} tabIndex={0}>
      <div style={{ height: `${offsets[first] ?? 0}px` }} aria-hidden="true" />
      {shown.map((r) => (
        <div
          key={r.key}
          class="vrow"
          data-key={r.key}
          ref={(node) => {
            if (node) elements.current.set(r.key, node);
          }}
        >
          {r.render()}
        </div>
      ))}
      <div style={{ height: `${total - (offsets[last + 1] ?? total)}px` }} aria-hidden="true" />
    </div>
  );
}

/** The number of entries of ascending `a` that are <= x. */
function upperBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
