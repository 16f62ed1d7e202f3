// Where a tab keeps the SDK's state. The session (token) lives in localStorage, shared by
// every tab of the browser, so one login serves them all; the cursor and the journal of
// unsent messages live in sessionStorage, which is the tab's own and survives a reload.
// Each tab is a connection of the same device: it catches up from its own cursor and
// resends its own journal, and the others get its messages as pushes.
import { WebStorage, type Storage } from "@parley/sdk";

export class TabStorage implements Storage {
  private readonly shared = new WebStorage(localStorage, "parley:");
  private readonly tab = new WebStorage(sessionStorage, "parley:");

  private pick(key: string): Storage {
    return key === "session" ? this.shared : this.tab;
  }
  get(key: string) {
    return this.pick(key).get(key);
  }
  set(key: string, value: string) {
    return this.pick(key).set(key, value);
  }
  delete(key: string) {
    return this.pick(key).delete(key);
  }
  async keys(prefix: string): Promise<string[]> {
    const all = [...(await this.shared.keys(prefix)), ...(await this.tab.keys(prefix))];
    return [...new Set(all)].sort();
  }
}
