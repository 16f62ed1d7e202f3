// Light and dark themes: the system's choice unless the user picked one (kept in
// localStorage). The CSS reads `data-theme` on <html>.
export type Theme = "light" | "dark";

export function currentTheme(): Theme {
  const saved = localStorage.getItem("parley:theme");
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function applyTheme(theme: Theme = currentTheme()): void {
  document.documentElement.dataset.theme = theme;
}

export function toggleTheme(): Theme {
  const next: Theme = currentTheme() === "dark" ? "light" : "dark";
  localStorage.setItem("parley:theme", next);
  applyTheme(next);
  return next;
}
