// Drives Debian's Chromium with the tagsmith extension loaded against a running tagsmith server.
//
//   TAGSMITH_URL=http://127.0.0.1:PORT TAGSMITH_KEY=... OUT_DIR=/tmp/x node extension_test.mjs          # checks
//   TAGSMITH_URL=... TAGSMITH_KEY=... node extension_test.mjs --bench 60                                 # latency
//
// Checks print "ok - ..." lines and the script exits 1 on the first failure. tests/test_browser_extension.py
// starts the server, runs this, then checks the feedback rows in SQLite. The bench prints p50/p95 of
// "pause in typing -> chips rendered" as measured inside the page.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const EXTENSION = resolve(HERE, "../../extension_api/extension");
const SERVER = process.env.TAGSMITH_URL;
const KEY = process.env.TAGSMITH_KEY || "";
const OUT = process.env.OUT_DIR || mkdtempSync(join(tmpdir(), "tagsmith-browser-"));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const benchIndex = process.argv.indexOf("--bench");
const BENCH_RUNS = benchIndex > 0 ? Number(process.argv[benchIndex + 1] || 50) : 0;
const CHIPS = "tagsmith-chips .chip"; // Playwright's CSS engine pierces the open shadow root
mkdirSync(OUT, { recursive: true });
if (!SERVER) { console.error("set TAGSMITH_URL"); process.exit(2); }

const t0 = Date.now();
const ok = (what) => console.log(`ok - ${what} [${((Date.now() - t0) / 1000).toFixed(1)} s]`);

// -- the local test page (a real HTTP server: content scripts run on http://127.0.0.1 pages) -----------
function servePage() {
  const files = { "/": "page.html", "/page.js": "page.js", "/page.css": "page.css" };
  const types = { html: "text/html", js: "text/javascript", css: "text/css" };
  const server = createServer((req, res) => {
    const file = files[new URL(req.url, "http://x").pathname];
    if (!file) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { "Content-Type": `${types[file.split(".").pop()]}; charset=utf-8` });
    res.end(readFileSync(join(HERE, file)));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// A slow copy of the server (every request held 2 s, then proxied): lets the test see a pending
// request cancelled by the next pause in typing.
function serveSlowProxy() {
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    await new Promise((r) => setTimeout(r, 2000));
    try {
      const upstream = await fetch(SERVER + req.url, {
        method: req.method, headers: { "content-type": "application/json", authorization: req.headers.authorization || "" },
        body: req.method === "GET" ? undefined : Buffer.concat(chunks),
      });
      res.writeHead(upstream.status, { "Content-Type": "application/json" });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    } catch (_) { res.destroy(); }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// Pages standing in for X and Instagram (served by request interception: no network, no DNS).
const X_PAGE = `<!doctype html><html><body>
<div role="dialog" aria-label="Reply">
  <article><div data-testid="tweetText">Nadal wins the Australian Open final in five sets</div></article>
  <div data-testid="tweetTextarea_0"><div contenteditable="true" role="textbox" aria-label="Post your reply"
    style="width:520px;min-height:60px;border:1px solid #ccc;padding:6px"></div></div>
</div></body></html>`;
const INSTAGRAM_PAGE = `<!doctype html><html><body>
<div role="dialog" aria-label="Create new post"><form>
  <textarea aria-label="Write a caption..." rows="4" cols="60"></textarea>
</form></div></body></html>`;

async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), "tagsmith-chromium-profile-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: false, // the new headless mode is passed below: it is the one that runs extensions
    viewport: { width: 900, height: 600 },
    args: [
      "--headless=new", `--disable-extensions-except=${EXTENSION}`, `--load-extension=${EXTENSION}`,
      "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
    ],
  });
  let [worker] = context.serviceWorkers();
  if (!worker) worker = await context.waitForEvent("serviceworker", { timeout: 30000 });
  const extensionId = new URL(worker.url()).host;
  return { context, worker, extensionId };
}

async function configure(worker, patch) {
  await worker.evaluate(async (patch) => {
    const settings = { ...(await tagsmithLoadSettings()), ...patch };
    await chrome.storage.local.set({ settings });
    await scheduleSync(); // the storage listener does it too; awaiting it makes the registration certain
  }, patch);
}

async function newPage(context, url, pageErrors) {
  const page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("dialog", (d) => { pageErrors.push(`unexpected dialog: ${d.message()}`); d.dismiss(); });
  await page.goto(url);
  await page.waitForFunction(() => document.readyState === "complete");
  return page;
}

const chipTexts = (page) => page.locator(CHIPS).allTextContents();
const waitChips = (page, timeout = 10000) => page.locator(CHIPS).first().waitFor({ state: "visible", timeout });
const activeChip = (page) => page.evaluate(() => {
  const host = document.activeElement;
  return host && host.tagName === "TAGSMITH-CHIPS" ? host.shadowRoot.activeElement.textContent : null;
});

async function checks({ context, worker, extensionId }, pageUrl) {
  const pageErrors = [];
  const settings = { serverUrl: SERVER, apiKey: KEY, maxSuggestions: 5, otherSites: ["http://127.0.0.1/*"] };
  await configure(worker, settings);
  const registered = await worker.evaluate(() => chrome.scripting.getRegisteredContentScripts());
  assert.ok(registered[0].matches.includes("http://127.0.0.1/*"), JSON.stringify(registered));
  ok(`extension ${extensionId} loaded; content script registered for ${registered[0].matches.length} site patterns`);

  // Popup: connected, key valid.
  const popup = await newPage(context, `chrome-extension://${extensionId}/popup.html`, pageErrors);
  await popup.locator("#keyValid.ok").waitFor({ timeout: 10000 });
  assert.equal(await popup.locator("#connected").textContent(), "yes");
  await popup.close();
  ok("popup shows connected and key valid");

  // 1. Textarea: chips after a pause in typing, debounced.
  const page = await newPage(context, pageUrl, pageErrors);
  const before = await worker.evaluate(() => stats.suggestRequests);
  await page.click("#post");
  await page.keyboard.type("Watching the final set at the Australian Open tonight", { delay: 25 });
  await waitChips(page);
  const sent = (await worker.evaluate(() => stats.suggestRequests)) - before;
  const tags = await chipTexts(page);
  assert.ok(tags.length >= 2 && tags.length <= 5, `chips: ${tags}`);
  assert.ok(tags.every((t) => t.startsWith("#")), `chips: ${tags}`);
  assert.ok(tags.some((t) => /ausopen|tennis/i.test(t)), `chips: ${tags}`);
  assert.ok(sent <= 2, `typing 53 characters without a 300 ms pause sent ${sent} /v1/suggest requests`);
  assert.equal(await page.evaluate(() => document.activeElement.id), "post", "chips must not take focus");
  ok(`chips after typing: ${tags.join(" ")} (${sent} request(s) for 53 keystrokes)`);
  const shot = join(OUT, "chips.png");
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);

  // 2. Keyboard: Tab into the chips, arrow to the second, Enter inserts it, Escape closes.
  await page.keyboard.press("Tab");
  assert.equal(await activeChip(page), tags[0]);
  await page.keyboard.press("ArrowRight");
  assert.equal(await activeChip(page), tags[1]);
  await page.keyboard.press("Enter");
  const value = await page.inputValue("#post");
  assert.equal(value, `Watching the final set at the Australian Open tonight ${tags[1]}`);
  const state = await page.evaluate(() => window.editorState);
  assert.equal(state.post, value, "the site's input listener saw the inserted text");
  assert.equal(state.inputEvents.at(-1).inputType, "insertText");
  const remaining = await chipTexts(page);
  assert.ok(!remaining.includes(tags[1]), "the inserted tag leaves the chips");
  assert.equal(await activeChip(page), remaining[0], "focus stays in the chips for the next one");
  await page.keyboard.press("Escape");
  await page.locator("tagsmith-chips").waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => document.activeElement.id), "post", "Escape gives focus back to the box");
  ok(`Tab, ArrowRight, Enter inserted ${tags[1]}; the page's input listener saw it; Escape closed the chips`);

  // 3. A hashtag typed by the person -> "typed" feedback (after it is finished with a space).
  await page.keyboard.type(" #tennisfans rock", { delay: 20 });
  await waitChips(page);
  await page.keyboard.press("Escape");

  // 4. Contenteditable: completing a partly typed #ta... by clicking the chip.
  await page.click("#rich");
  await page.keyboard.type("Nadal wins the Australian Open final #au", { delay: 20 });
  await waitChips(page);
  const richTags = await chipTexts(page);
  assert.ok(richTags[0].toLowerCase().startsWith("#au"), `completions come first: ${richTags}`);
  await page.locator(CHIPS).first().click();
  const rich = await page.evaluate(() => document.getElementById("rich").innerText.replace(/\n$/, ""));
  assert.equal(rich.replace(/\u00a0/g, " "), `Nadal wins the Australian Open final ${richTags[0]}`);
  assert.equal(await page.evaluate(() => window.editorState.rich), rich, "the site's input listener saw the completion");
  assert.equal(await page.evaluate(() => document.activeElement.id), "rich", "clicking a chip keeps focus in the editor");
  ok(`completed "#au" to ${richTags[0]} in the contenteditable; the editor state has it`);
  await page.keyboard.press("Escape");

  // 5. Options page: max suggestions 3 (Save also asks for host access: already granted here, no prompt).
  const options = await newPage(context, `chrome-extension://${extensionId}/options.html`, pageErrors);
  assert.equal(await options.inputValue("#serverUrl"), SERVER);
  await options.fill("#maxSuggestions", "3");
  await options.click("button[type=submit]");
  await options.locator("#message.ok").waitFor({ timeout: 10000 });
  await options.close();
  await page.bringToFront();
  await page.click("#post");
  await page.keyboard.type(" and the fans", { delay: 20 });
  await waitChips(page);
  const three = await chipTexts(page);
  assert.ok(three.length <= 3, `max suggestions 3 from the options page: ${three}`);
  ok(`options page saved max suggestions 3: ${three.join(" ")}`);
  await page.keyboard.press("Escape");

  // 6. X: the replied-to post goes as `thread`; the 280-character limit disables chips with a hint.
  const routePage = (html) => (route) => route.fulfill({ status: 200, contentType: "text/html", body: html });
  await context.route("https://x.com/**", routePage(X_PAGE));
  await context.route("https://www.instagram.com/**", routePage(INSTAGRAM_PAGE));
  const x = await newPage(context, "https://x.com/compose/post", pageErrors);
  await x.click('[data-testid="tweetTextarea_0"] [contenteditable]');
  await x.keyboard.type("so good", { delay: 20 });
  await waitChips(x);
  const xTags = await chipTexts(x);
  assert.ok(xTags.some((t) => /ausopen|nadal/i.test(t)), `the replied-to post drives the tags: ${xTags}`);
  ok(`X reply: "so good" under a post about Nadal gets ${xTags.join(" ")}`);
  await x.keyboard.insertText(" " + "a very long reply about the match ".repeat(8).trim());
  await waitChips(x);
  await x.locator("tagsmith-chips .hint.over").waitFor({ timeout: 10000 });
  const xHint = await x.locator("tagsmith-chips .hint").textContent();
  assert.match(xHint, /X allows 280 characters/);
  assert.equal(await x.locator(`${CHIPS}[aria-disabled="false"]`).count(), 0);
  await x.screenshot({ path: join(OUT, "x-limit.png") });
  ok(`X limit hint: "${xHint}"`);

  // 7. Instagram: the 5-hashtag cap.
  const ig = await newPage(context, "https://www.instagram.com/create/", pageErrors);
  await ig.click("textarea");
  await ig.keyboard.insertText("Throwback to our summer trip to the beach #one #two #three #four #five");
  await ig.keyboard.type(" sun", { delay: 20 });
  await ig.locator("tagsmith-chips .hint.over").waitFor({ timeout: 10000 });
  const igHint = await ig.locator("tagsmith-chips .hint").textContent();
  assert.match(igHint, /Instagram allows 5 hashtags/);
  await ig.locator(CHIPS).first().click({ force: true }); // aria-disabled: the click must do nothing
  assert.equal((await ig.inputValue("textarea")).match(/#\w+/g).length, 5, "a disabled chip inserts nothing");
  ok(`Instagram cap hint: "${igHint}"`);

  // 8. A pause while a request is pending aborts it; only the newest answer is shown.
  const slow = await serveSlowProxy();
  await configure(worker, { serverUrl: `http://127.0.0.1:${slow.address().port}`, maxSuggestions: 5 });
  const slowPage = await newPage(context, pageUrl, pageErrors);
  const abortedBefore = await worker.evaluate(() => stats.aborted);
  await slowPage.click("#post");
  await slowPage.keyboard.type("Stock markets fall", { delay: 10 });
  await slowPage.waitForTimeout(450); // the debounce fired: a request is pending at the slow server
  await slowPage.keyboard.type(" as the Lakers beat the Celtics in the NBA finals", { delay: 10 });
  await waitChips(slowPage);
  const aborted = (await worker.evaluate(() => stats.aborted)) - abortedBefore;
  assert.ok(aborted >= 1, `the pending request was not aborted (${aborted})`);
  assert.equal(await slowPage.locator("tagsmith-chips").getAttribute("data-seq"), "2", "only the second request's chips");
  ok(`a new pause aborted ${aborted} pending request(s); chips from the newest one`);
  slow.close();
  slow.closeAllConnections();

  // 9. Server down: no chips, no errors on the page; the popup says why.
  await configure(worker, { serverUrl: "http://127.0.0.1:9" });
  const down = await newPage(context, pageUrl, pageErrors);
  await down.click("#post");
  await down.keyboard.type("Watching the final set at the Australian Open", { delay: 10 });
  await down.waitForTimeout(1500);
  assert.equal(await down.locator("tagsmith-chips").count(), 0);
  const popupDown = await newPage(context, `chrome-extension://${extensionId}/popup.html`, pageErrors);
  await popupDown.locator("#connected.bad").waitFor({ timeout: 10000 });
  const lastError = await popupDown.locator("#lastError").textContent();
  assert.match(lastError, /cannot reach/);
  ok(`server down: no chips, no page errors; popup says "${lastError}"`);
  await configure(worker, { serverUrl: SERVER });

  assert.deepEqual(pageErrors, [], "no page errors or dialogs");
  ok("no page errors");
}

// -- benchmark: pause in typing -> chips rendered -----------------------------------------------------
const BENCH_POSTS = [
  "Watching the final set at the Australian Open tonight", "Nadal wins the Australian Open final in five sets",
  "Serena serves an ace on centre court", "Stock markets fall as inflation fears grow",
  "Central bank raises interest rates again", "Apple unveils the new iPhone camera",
  "Lakers beat the Celtics in overtime at the NBA finals", "Throwback to our summer trip to the beach",
];

function quantile(sorted, q) {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i), hi = Math.ceil(i);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

async function bench({ context, worker }, pageUrl, runs) {
  await configure(worker, { serverUrl: SERVER, apiKey: KEY, maxSuggestions: 5, otherSites: ["http://127.0.0.1/*"] });
  const page = await newPage(context, pageUrl, []);
  await page.click("#post");
  const pause = [], keystroke = [];
  for (let i = 0; i < runs + 3; i++) { // 3 warm-up runs
    const post = `${BENCH_POSTS[i % BENCH_POSTS.length]} ${i}`;
    const lastSeq = await page.evaluate(() => document.querySelector("tagsmith-chips")?.dataset.seq || "0");
    await page.fill("#post", post.slice(0, -6));
    await page.keyboard.type(post.slice(-6), { delay: 30 }); // the last keystrokes, then the pause
    const handle = await page.waitForFunction((seq) => {
      const host = document.querySelector("tagsmith-chips");
      return host && host.dataset.seq && host.dataset.seq !== seq ? { ...host.dataset } : null;
    }, lastSeq, { timeout: 10000, polling: 5 });
    const data = await handle.jsonValue();
    const lastInputAt = await page.evaluate(() => window.editorState.lastInputAt);
    if (i >= 3) {
      pause.push(Number(data.pauseToChipsMs));
      keystroke.push(Number(data.renderedAt) - lastInputAt);
    }
    await page.keyboard.press("Escape");
  }
  const line = (name, xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return `${name.padEnd(48)} p50 ${quantile(s, 0.5).toFixed(1).padStart(6)} ms   p95 ${quantile(s, 0.95).toFixed(1).padStart(6)} ms   max ${s.at(-1).toFixed(1).padStart(6)} ms`;
  };
  console.log(`runs: ${runs} (after 3 warm-up), debounce 300 ms, Chromium ${context.browser()?.version() ?? ""}`.trim());
  console.log(line("pause detected -> chips rendered", pause));
  console.log(line("last keystroke -> chips rendered (incl. 300ms)", keystroke));
}

const pageServer = await servePage();
const pageUrl = `http://127.0.0.1:${pageServer.address().port}/`;
const browser = await launch();
try {
  if (BENCH_RUNS) await bench(browser, pageUrl, BENCH_RUNS);
  else await checks(browser, pageUrl);
} catch (err) {
  const shot = join(OUT, "failure.png");
  for (const p of browser.context.pages().slice(-1)) await p.screenshot({ path: shot }).catch(() => {});
  console.error(`FAIL: ${err.stack || err}\nscreenshot of the last page: ${shot}`);
  process.exitCode = 1;
} finally {
  await browser.context.close();
  pageServer.close();
  process.exit(process.exitCode ?? 0); // a server left open by a failed check must not keep node alive
}
