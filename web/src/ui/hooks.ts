import { useEffect, useReducer } from "preact/hooks";

import type { Store } from "../store.js";

/** Re-renders the component whenever the store changes. */
export function useStore(store: Store): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => store.subscribe(() => bump(0)), [store]);
}

/** The part of location.hash after "#/", kept current. */
export function useHashRoute(): string {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const on = () => bump(0);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return location.hash.replace(/^#\/?/, "");
}

export function navigate(route: string): void {
  location.hash = `#/${route}`;
}
