// Node-only parts of the SDK (import from "@parley/sdk/node"): a durable file storage.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";

import type { Storage } from "./storage.js";

/** One file per key in a directory; each `set` is written to a temporary file, fsynced,
 * renamed over the old one and the directory fsynced, so a crash leaves the old or the new
 * value, never a torn one. */
export class FileStorage implements Storage {
  private ready: Promise<void> | null = null;

  constructor(private readonly dir: string) {}

  async get(key: string): Promise<string | null> {
    try {
      return await fs.readFile(this.file(key), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  async set(key: string, value: string): Promise<void> {
    await this.ensureDir();
    const target = this.file(key);
    const tmp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
    const handle = await fs.open(tmp, "w", 0o600);
    try {
      await handle.writeFile(value, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, target);
    await this.syncDir();
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.unlink(this.file(key));
      await this.syncDir();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }

  async keys(prefix: string): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    return names
      .filter((n) => !n.endsWith(".tmp"))
      .map((n) => decodeURIComponent(n))
      .filter((k) => k.startsWith(prefix))
      .sort();
  }

  private file(key: string): string {
    // encodeURIComponent leaves no '/' and no leading '.', so every key is one plain file.
    return path.join(this.dir, encodeURIComponent(key).replace(/\./g, "%2E"));
  }

  private ensureDir(): Promise<void> {
    this.ready ??= fs.mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.ready;
  }

  private async syncDir(): Promise<void> {
    const handle = await fs.open(this.dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
