// A real parleyd for the SDK's tests: started on a free loopback port with its own
// temporary data directory, polled for readiness with a deadline, killed (SIGKILL) and
// restarted on the same data and port. The binary is $PARLEYD, else the release build.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, promises as fs, openSync, closeSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (existsSync(path.join(dir, "docs", "protocol.md")) && existsSync(path.join(dir, "sdk"))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error("cannot find the repository root");
}

export function parleydPath(): string {
  return process.env.PARLEYD ?? path.join(repoRoot(), "build", "release", "parleyd");
}

export interface ServerOptions {
  /** Extra parleyd.toml contents. */
  config?: string;
  readyTimeoutMs?: number;
}

export class ParleyServer {
  port = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly workDir: string,
    private readonly options: ServerOptions,
  ) {}

  static async start(options: ServerOptions = {}): Promise<ParleyServer> {
    const work = await fs.mkdtemp(path.join(os.tmpdir(), "parley-sdk-"));
    const server = new ParleyServer(work, options);
    await server.launch();
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get dataDir(): string {
    return path.join(this.workDir, "data");
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** A crash: SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    if (this.child === null) return;
    this.child.kill("SIGKILL");
    await this.exited;
    this.child = null;
  }

  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  /** Starts again on the same data directory and port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** SIGTERM, wait, and remove the data. */
  async stop(): Promise<void> {
    if (this.child !== null) {
      this.child.kill("SIGCONT"); // a stopped process would not see SIGTERM
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child?.kill("SIGKILL"), 20_000);
      await this.exited;
      clearTimeout(timer);
      this.child = null;
    }
    await fs.rm(this.workDir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const portFile = path.join(this.workDir, "port");
    await fs.rm(portFile, { force: true });
    const args = ["--data", this.dataDir, "--port-file", portFile, "--listen", `127.0.0.1:${this.port}`];
    if (this.options.config !== undefined) {
      const config = path.join(this.workDir, "parleyd.toml");
      await fs.writeFile(config, this.options.config, { mode: 0o600 });
      args.push("--config", config);
    }
    const log = openSync(path.join(this.workDir, "parleyd.log"), "a");
    const child = spawn(parleydPath(), args, { stdio: ["ignore", log, log] });
    closeSync(log);
    this.child = child;
    let exitedEarly = false;
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        exitedEarly = true;
        resolve();
      });
    });
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (exitedEarly) {
        const text = await fs.readFile(path.join(this.workDir, "parleyd.log"), "utf8");
        throw new Error(`parleyd exited during start-up:\n${text}`);
      }
      const port = Number((await fs.readFile(portFile, "utf8").catch(() => "")).trim());
      if (port > 0) {
        this.port = port;
        return;
      }
      await new Promise((r) => setTimeout(r, 10)); // poll interval
    }
    child.kill("SIGKILL");
    throw new Error("parleyd did not become ready in time");
  }
}

/** Polls `check` every few ms until it holds, or fails after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A user name unique within the run. */
let counter = 0;
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${process.pid % 10000}x${counter}`;
}
