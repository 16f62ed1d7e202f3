// The web client in headless Chromium (Debian's, driven by playwright-core; no browser is
// downloaded) against a real parleyd serving it at /app/: two users chat both ways; a
// context offline while 50 messages arrive shows each exactly once, in order; a reload
// keeps history and cursor; a third context of the same user sees the sent messages and
// the read state; search finds a Chinese word inside a sentence; a non-member cannot open
// a conversation by URL; a message pending while the server is killed with SIGKILL is
// delivered once after the restart; the accessibility tree names every control; and the
// performance figures of issue 15 (first screen of a 1,000-conversation account, frames
// while scrolling 10,000 messages). Screenshots of the main screens go to docs/images/.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";

import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

import { Connection } from "../../sdk/ts/src/connection.js";
import { ParleyClient } from "../../sdk/ts/src/client.js";
import { MemoryStorage } from "../../sdk/ts/src/storage.js";
import { ParleyServer, repoRoot, uniqueName, waitFor } from "../../sdk/ts/test/server.js";

const PASSWORD = "correct horse battery";
const webDir = process.env.WEB_DIR ?? path.join(repoRoot(), "build", "release", "web");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const shots = process.env.SCREENSHOTS ?? "";
const quick = process.env.PARLEY_WEB_QUICK === "1"; // the sanitizer build: no performance figures

let server: ParleyServer;
let browser: Browser;
const clients: ParleyClient[] = [];

before(async () => {
  server = await ParleyServer.start({
    config: [
      "[web]",
      `dir = "${webDir}"`,
      "[limits]",
      "send_rate_per_conn = 0",
      "send_rate_per_user = 0",
      "membership_rate_per_user = 0",
      "search_rate_per_conn = 0",
      "users_rate_per_conn = 0",
      "users_rate_per_user = 0",
      "",
    ].join("\n"),
  });
  // --disable-dev-shm-usage: containers often give /dev/shm only 64 MB, too little for Chromium.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
    headless: true,
  });
});
after(async () => {
  for (const c of clients) await c.stop();
  await browser?.close();
  await server?.stop();
});

async function account(prefix: string): Promise<{ name: string; id: number; client: ParleyClient }> {
  const name = uniqueName(prefix);
  const client = new ParleyClient({ url: server.url, storage: new MemoryStorage() });
  await client.register(name, PASSWORD);
  const s = await client.login(name, PASSWORD);
  await waitFor("connected", () => client.connected);
  clients.push(client);
  return { name, id: s.user, client };
}

async function signIn(context: BrowserContext, name: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${server.httpUrl}/app/`);
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Conversations" }).waitFor();
  return page;
}

/** The bodies of the messages rendered in the open conversation, top to bottom (the list
 * is virtualised: only the rows near the viewport are in the DOM). */
async function shownBodies(page: Page): Promise<string[]> {
  return page.locator(".scroller article.msg:not(.pending) .body").allTextContents();
}

/** The bodies of every message the open conversation holds (its loaded pages), in order. */
async function loadedBodies(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const store = (globalThis as unknown as {
      parley: { openConv: number | null; pages: Map<number, { messages: Array<{ body: string }> }> };
    }).parley;
    const p = store.openConv === null ? undefined : store.pages.get(store.openConv);
    return p === undefined ? [] : p.messages.map((m) => m.body);
  });
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (shots === "") return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

test("two users chat both ways; offline, reload, a third tab, search, a stranger's URL", async () => {
  const alice = await account("alice");
  const bob = await account("bob");
  const dm = (await alice.client.send({ to: bob.name, body: "hi bob, 我们明天讨论一下备份恢复的方案" })).conv;
  await alice.client.stop(); // from here alice uses the browser

  const aliceCtx = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const bobCtx = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const a = await signIn(aliceCtx, alice.name);
  const b = await signIn(bobCtx, bob.name);

  // Bob sees the conversation with an unread badge and opens it.
  await b.getByRole("link", { name: new RegExp(`^${alice.name}, 1 unread`) }).click();
  await waitForBodies(b, ["hi bob, 我们明天讨论一下备份恢复的方案"]);
  await send(b, "hello alice");
  await a.getByRole("link", { name: new RegExp(`^${bob.name}`) }).click();
  await waitForBodies(a, ["hi bob, 我们明天讨论一下备份恢复的方案", "hello alice"]);
  await send(a, "line one\nline two");
  await waitForBodies(b, ["hi bob, 我们明天讨论一下备份恢复的方案", "hello alice", "line one\nline two"]);
  // Bob read it: alice's last message shows "Read".
  await a.locator("article.msg.mine .read").last().waitFor();
  await screenshot(a, "conversation");

  // Bob's context goes offline; alice sends 50; bob comes back and shows each once, in order.
  await bobCtx.setOffline(true);
  await b.getByRole("status").filter({ hasText: "Offline" }).waitFor({ timeout: 30_000 });
  await screenshot(b, "offline");
  const fifty = Array.from({ length: 50 }, (_, i) => `offline ${i}`);
  for (const text of fifty) await send(a, text);
  await a.locator("article.msg.pending").first().waitFor({ state: "detached", timeout: 30_000 });
  await bobCtx.setOffline(false);
  const expected = ["hi bob, 我们明天讨论一下备份恢复的方案", "hello alice", "line one\nline two", ...fifty];
  await waitForBodies(b, expected, 60_000);

  // A reload keeps the history and the cursor: the same list, nothing twice.
  await b.reload();
  await b.getByRole("navigation", { name: "Conversations" }).waitFor();
  await waitForBodies(b, expected.slice(-30), 30_000, true);

  // A third context of alice sees what she sent, and her read state: she read everything
  // in her first tab, so nothing is unread here.
  const alice2Ctx = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const a2 = await signIn(alice2Ctx, alice.name);
  const bobLink = a2.getByRole("link", { name: new RegExp(`^${bob.name}`) });
  await bobLink.waitFor();
  assert.equal(await bobLink.getAttribute("aria-label"), bob.name);
  // Bob answers; alice's first tab, open on the conversation, reads it; the second tab,
  // showing only the list, gets the message and then alice's `read`: no badge stays.
  await send(b, "got them all");
  await bobLink.locator(".conv-preview", { hasText: "got them all" }).waitFor();
  await waitForBodies(a, [...expected.slice(-3), "got them all"], 30_000, true);
  await a2.getByRole("link", { name: new RegExp(`^${bob.name}$`) }).waitFor();
  await bobLink.click();
  await waitForBodies(a2, [...expected.slice(-30), "got them all"], 30_000, true);
  // ...and a message alice sends from there appears in her first tab.
  await send(a2, "from the second tab");
  await waitForBodies(a, [...expected.slice(-3), "got them all", "from the second tab"], 30_000, true);

  // Search finds the Chinese word inside the sentence, highlighted.
  const search = b.getByRole("searchbox", { name: "Search messages" });
  await search.fill("备份恢复");
  await search.press("Enter");
  const hit = b.getByRole("list", { name: "Search results" }).locator("mark").first();
  await hit.waitFor();
  assert.equal(await hit.textContent(), "备份恢复");
  await screenshot(b, "search");

  // A stranger who guesses the conversation's URL sees nothing of it.
  const eve = await account("eve");
  const eveCtx = await browser.newContext();
  const e = await signIn(eveCtx, eve.name);
  await e.goto(`${server.httpUrl}/app/#/c/${dm}`);
  await e.getByRole("main").getByText("You are not a member of that conversation.").waitFor();
  assert.equal((await shownBodies(e)).length, 0);

  await Promise.all([aliceCtx.close(), bobCtx.close(), alice2Ctx.close(), eveCtx.close()]);
});

/** Waits until the open conversation holds exactly `expected` (or ends with it), each
 * message once, and its newest rows are on the screen. */
async function waitForBodies(page: Page, expected: string[], timeoutMs = 20_000, suffixOnly = false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let got: string[] = [];
  while (Date.now() < deadline) {
    got = await loadedBodies(page);
    const tail = suffixOnly ? got.slice(-expected.length) : got;
    if (tail.length === expected.length && tail.every((t, i) => t === expected[i])) {
      assert.equal(new Set(got).size, got.length, "a message held twice");
      const rendered = await shownBodies(page);
      const k = Math.min(5, expected.length);
      if (rendered.slice(-k).every((t, i) => t === expected[expected.length - k + i]) && rendered.length >= k) {
        assert.equal(new Set(rendered).size, rendered.length, "a message shown twice");
        return;
      }
    }
    // The list is virtualised: keep it scrolled to the end so the newest rows are rendered.
    await page.locator(".scroller").evaluate((el) => (el.scrollTop = el.scrollHeight)).catch(() => {});
    await page.waitForTimeout(50);
  }
  assert.deepEqual(got, expected);
}

test("a message pending while the server is killed is delivered once after the restart", async () => {
  const alice = await account("kila");
  const bob = await account("kilb");
  const seen: string[] = [];
  const bobEvents = new ParleyClient({
    url: server.url,
    storage: new MemoryStorage(),
    onEvent: (ev) => {
      if (ev.type === "message" && ev.message) seen.push(ev.message.body);
    },
  });
  await bobEvents.login(bob.name, PASSWORD);
  clients.push(bobEvents);
  const conv = (await alice.client.send({ to: bob.name, body: "before" })).conv;
  await alice.client.stop();
  const ctx = await browser.newContext();
  const a = await signIn(ctx, alice.name);
  await a.goto(`${server.httpUrl}/app/#/c/${conv}`);
  await waitForBodies(a, ["before"]);

  await server.kill();
  await a.getByRole("status").filter({ hasText: "Offline" }).waitFor({ timeout: 30_000 });
  await send(a, "sent while the server was down");
  await a.locator("article.msg.pending").waitFor();
  await server.restart();
  await waitForBodies(a, ["before", "sent while the server was down"], 60_000);
  await waitFor("bob got it", () => seen.includes("sent while the server was down"), 60_000);
  await a.waitForTimeout(300); // a duplicate would arrive right behind it
  assert.deepEqual(
    seen.filter((s) => s === "sent while the server was down"),
    ["sent while the server was down"],
  );
  const history = await bobEvents.request("history", { conv });
  assert.deepEqual(history.messages.map((m) => m.body), ["before", "sent while the server was down"]);
  await ctx.close();
});

test("every control has an accessible name; keyboard, themes and a phone-wide screen work", async () => {
  const alice = await account("a11y");
  const bob = await account("a11yb");
  await alice.client.send({ to: bob.name, body: "hello" });
  await alice.client.request("conv.create", { title: "a group", members: [bob.name] });
  await alice.client.stop();
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await signIn(ctx, alice.name);
  await page.getByRole("link", { name: new RegExp(`^${bob.name}`) }).click();
  await waitForBodies(page, ["hello"]);

  const cdp = await ctx.newCDPSession(page);
  const { nodes } = (await cdp.send("Accessibility.getFullAXTree")) as {
    nodes: Array<{ ignored: boolean; role?: { value: string }; name?: { value: string } }>;
  };
  const unnamed = nodes.filter(
    (n) => !n.ignored && ["button", "textbox", "link", "searchbox", "combobox"].includes(n.role?.value ?? "") && !(n.name?.value ?? "").trim(),
  );
  assert.deepEqual(unnamed.map((n) => n.role?.value), [], "controls without an accessible name");

  // Shift+Enter makes a new line, Enter sends.
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill("first line");
  await box.press("Shift+Enter");
  await box.type("second line");
  assert.equal(await box.inputValue(), "first line\nsecond line");
  await box.press("Enter");
  await waitForBodies(page, ["hello", "first line\nsecond line"]);
  // Esc closes a dialog.
  await page.getByRole("button", { name: "New group" }).click();
  await page.getByRole("dialog", { name: "New group" }).waitFor();
  await screenshot(page, "new-group");
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });

  // Dark theme.
  await page.getByRole("button", { name: "Toggle dark theme" }).click();
  const theme = await page.evaluate(() => document.documentElement.dataset.theme);
  assert.ok(theme === "dark" || theme === "light");
  await screenshot(page, theme === "dark" ? "dark" : "light");

  // A phone: one pane at a time, with a way back.
  await page.setViewportSize({ width: 390, height: 760 });
  assert.equal(await page.getByRole("navigation", { name: "Conversations" }).isVisible(), false);
  await page.getByRole("link", { name: "Back to conversations" }).click();
  await page.getByRole("navigation", { name: "Conversations" }).waitFor();
  await screenshot(page, "phone");
  await ctx.close();
});

test("older history loads above without moving the screen; an image reaches the peer with its thumbnail", async () => {
  const alice = await account("imga");
  const bob = await account("imgb");
  const conv = (await alice.client.send({ to: bob.name, body: "m0" })).conv;
  for (let i = 1; i < 150; i++) await alice.client.send({ conv, body: `m${i}` });
  await alice.client.stop();
  const aliceCtx = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const bobCtx = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const a = await signIn(aliceCtx, alice.name);
  const b = await signIn(bobCtx, bob.name);
  await a.goto(`${server.httpUrl}/app/#/c/${conv}`);
  await waitForBodies(a, ["m149"], 20_000, true);

  // Scroll to the top of the first page: the next page loads above, and the message that
  // was at the top stays where it was on the screen.
  const scroller = a.locator(".scroller");
  const before = await a.evaluate(() => {
    const el = document.querySelector(".scroller") as HTMLElement;
    el.scrollTop = 0;
    const first = el.querySelector("article.msg") as HTMLElement;
    return { seq: first.dataset.seq as string, y: first.getBoundingClientRect().top };
  });
  await a.waitForFunction(
    () => {
      const store = (globalThis as unknown as { parley: { openConv: number; pages: Map<number, { messages: unknown[] }> } }).parley;
      return (store.pages.get(store.openConv)?.messages.length ?? 0) > 50;
    },
    undefined,
    { timeout: 10_000 },
  );
  await a.waitForTimeout(100); // the rows above are measured in the next frame
  const after = await scroller.locator(`article.msg[data-seq="${before.seq}"]`).evaluate((el) => el.getBoundingClientRect().top);
  assert.ok(Math.abs(after - before.y) <= 2, `the top message moved from ${before.y} to ${after}`);

  // An image: uploaded with a progress bar, shown to the peer as a thumbnail.
  const png = await a.screenshot({ type: "png" });
  await a.locator('input[type="file"]').setInputFiles({ name: "screen.png", mimeType: "image/png", buffer: png });
  await b.goto(`${server.httpUrl}/app/#/c/${conv}`);
  const img = b.locator("article.msg img[alt='screen.png']");
  await img.waitFor({ timeout: 30_000 });
  await b.waitForFunction(
    () => {
      const el = document.querySelector("article.msg img[alt='screen.png']") as HTMLImageElement | null;
      return el !== null && el.src.startsWith("blob:") && el.complete && el.naturalWidth > 0;
    },
    undefined,
    { timeout: 30_000 },
  );
  await Promise.all([aliceCtx.close(), bobCtx.close()]);
});

// Figures of an optimised build only: the sanitizer pass skips it.
test("performance: first screen of 1,000 conversations, scrolling 10,000 messages", { skip: quick }, async () => {
  const convCount = 1000;
  const messageCount = 10_000;
  const alice = await account("perfa");
  const bob = await account("perfb");
  // Raw pipelined requests: the load is set up in seconds.
  const conn = await Connection.open(server.url);
  await conn.call("auth", { token: alice.client.token as string });
  const groups = await Promise.all(
    Array.from({ length: convCount - 1 }, (_, i) => conn.call("conv.create", { title: `group ${i}`, members: [] })),
  );
  await Promise.all(
    groups.map((g, i) => conn.call("send", { conv: g.conversation.conv, client_msg_id: `g${i}`, body: `news ${i}` })),
  );
  const dm = (await conn.call("conv.open", { user: bob.name })).conversation.conv;
  for (let start = 0; start < messageCount; start += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, messageCount - start) }, (_, k) =>
        conn.call("send", { conv: dm, client_msg_id: `m${start + k}`, body: `message ${start + k}` }, 60_000),
      ),
    );
  }
  conn.close();
  await alice.client.stop();

  const ctx = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await signIn(ctx, alice.name);
  // First screen: from navigation to the conversation list painted (token already stored).
  const started = Date.now();
  await page.goto(`${server.httpUrl}/app/`);
  await page.getByRole("link", { name: /^group \d+/ }).first().waitFor();
  const firstScreenMs = Date.now() - started;
  // The rest of the list follows.
  await page.waitForFunction(
    (n) => document.querySelectorAll('[aria-label="Conversation list"] li').length === n,
    convCount,
    { timeout: 10_000 },
  );
  console.log(`web: first screen of a ${convCount}-conversation account: ${firstScreenMs} ms`);
  await screenshot(page, "conversations");

  // Load the whole history by scrolling up, then measure frames while scrolling through it.
  await page.goto(`${server.httpUrl}/app/#/c/${dm}`);
  await waitForBodies(page, [`message ${messageCount - 1}`], 30_000, true);
  const loaded = await page.evaluate(async (conv) => {
    const store = (globalThis as unknown as {
      parley: {
        loadOlder(c: number): Promise<void>;
        pages: Map<number, { hasMoreBefore: boolean; messages: unknown[] }>;
      };
    }).parley;
    // Page after page, as scrolling up would load them (bounded: 1,000 pages at most).
    for (let i = 0; i < 1000 && store.pages.get(conv)?.hasMoreBefore; i++) await store.loadOlder(conv);
    return store.pages.get(conv)?.messages.length ?? 0;
  }, dm);
  assert.equal(loaded, messageCount);
  const frames = await page.evaluate(async () => {
    const el = document.querySelector(".scroller") as HTMLElement;
    el.scrollTop = el.scrollHeight;
    const times: number[] = [];
    let last = performance.now();
    const domRows: number[] = [];
    // Scroll from the bottom to the top in 400 steps, one per frame.
    for (let i = 0; i < 400; i++) {
      await new Promise<void>((resolve) =>
        requestAnimationFrame(() => {
          const now = performance.now();
          times.push(now - last);
          last = now;
          el.scrollTop = el.scrollHeight * (1 - (i + 1) / 400);
          el.dispatchEvent(new Event("scroll"));
          domRows.push(el.querySelectorAll(".vrow").length);
          resolve();
        }),
      );
    }
    times.sort((a, b) => a - b);
    return {
      median: times[Math.floor(times.length / 2)] as number,
      p95: times[Math.floor(times.length * 0.95)] as number,
      max: times[times.length - 1] as number,
      over50: times.filter((t) => t > 50).length,
      maxRows: Math.max(...domRows),
    };
  });
  console.log(
    `web: scrolling ${messageCount} messages, 400 frames: median ${frames.median.toFixed(1)} ms, ` +
      `p95 ${frames.p95.toFixed(1)} ms, max ${frames.max.toFixed(1)} ms, ${frames.over50} frames over 50 ms, ` +
      `at most ${frames.maxRows} rows in the DOM`,
  );
  assert.ok(frames.maxRows < 200, "the list is virtualised");
  // Guards against a regression, loose enough for a shared, noisy machine; the targets of
  // issue 15 (under 1 s, no jank) are read from the printed figures.
  assert.ok(firstScreenMs < 3000, `first screen took ${firstScreenMs} ms`);
  assert.ok(frames.p95 < 100, `p95 frame ${frames.p95} ms`);
  await ctx.close();
});
