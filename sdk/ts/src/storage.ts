// Where ParleyClient keeps what must outlive the process or the page: the session (token),
// the sync cursor, and the journal of sends not yet acknowledged. Values are strings
// (JSON); a `set` must be durable when its promise resolves, because the client sends a
// message only after its journal entry is stored.

export interface Storage {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key that starts with `prefix`, in ascending order. */
  keys(prefix: string): Promise<string[]>;
}

/** Keeps nothing across restarts: for tests and short-lived scripts. */
export class MemoryStorage implements Storage {
  private readonly map = new Map<string, string>();

  async get(key: string): Promise<string | null> {
    return this.map.get(key) ?? null;
  }
  async set(key: string, value: string): Promise<void> {
    this.map.set(key, value);
  }
  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }
  async keys(prefix: string): Promise<string[]> {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

/** The DOM's Storage (localStorage survives the browser, sessionStorage a reload of the
 * tab), under a prefix so that several accounts or apps can share an origin. */
export interface DomStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  key(index: number): string | null;
  readonly length: number;
}

export class WebStorage implements Storage {
  constructor(
    private readonly store: DomStorage,
    private readonly prefix = "parley:",
  ) {}

  async get(key: string): Promise<string | null> {
    return this.store.getItem(this.prefix + key);
  }
  async set(key: string, value: string): Promise<void> {
    this.store.setItem(this.prefix + key, value); // throws QuotaExceededError when full
  }
  async delete(key: string): Promise<void> {
    this.store.removeItem(this.prefix + key);
  }
  async keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const full = this.prefix + prefix;
    for (let i = 0; i < this.store.length; i++) {
      const k = this.store.key(i);
      if (k !== null && k.startsWith(full)) out.push(k.slice(this.prefix.length));
    }
    return out.sort();
  }
}

/** Keys of `inner` under `namespace/`: one storage for several accounts. */
export class NamespacedStorage implements Storage {
  constructor(
    private readonly inner: Storage,
    private readonly namespace: string,
  ) {}
  get(key: string): Promise<string | null> {
    return this.inner.get(`${this.namespace}/${key}`);
  }
  set(key: string, value: string): Promise<void> {
    return this.inner.set(`${this.namespace}/${key}`, value);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(`${this.namespace}/${key}`);
  }
  async keys(prefix: string): Promise<string[]> {
    const n = this.namespace.length + 1;
    return (await this.inner.keys(`${this.namespace}/${prefix}`)).map((k) => k.slice(n));
  }
}
