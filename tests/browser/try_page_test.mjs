// Drives Debian's Chromium through the try page at / of a running tagsmith server that has an API key.
//
//   TAGSMITH_URL=http://127.0.0.1:PORT TAGSMITH_KEY=... RED_JPG=red.jpg BLUE_JPG=blue.jpg OUT_DIR=/tmp/x node try_page_test.mjs
//
// Prints "ok - ..." lines, exits 1 on the first failure, and saves try_page.png (desktop) and
// try_page_phone.png (a phone's width) under OUT_DIR. tests/test_try_page.py starts the server.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SERVER = process.env.TAGSMITH_URL;
const KEY = process.env.TAGSMITH_KEY;
const OUT = process.env.OUT_DIR;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const POST = "Watching the final set at the Australian Open tonight";
if (!SERVER || !KEY || !OUT) { console.error("set TAGSMITH_URL, TAGSMITH_KEY and OUT_DIR"); process.exit(2); }
mkdirSync(OUT, { recursive: true });
const t0 = Date.now();
const ok = (what) => console.log(`ok - ${what} [${((Date.now() - t0) / 1000).toFixed(1)} s]`);

const browser = await chromium.launch({
  executablePath: CHROMIUM, headless: false,
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check"],
});
const pageErrors = [];
const outside = [];

async function openPage(options) {
  const context = await browser.newContext(options);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: SERVER });
  // the page is served offline: any request leaving the server is a failure (and is not sent)
  await context.route("**/*", (route) => (route.request().url().startsWith(SERVER) ? route.continue()
    : (outside.push(route.request().url()), route.abort())));
  const page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  await page.goto(SERVER + "/");
  return page;
}
const chipTags = (page) => page.locator("#chips .chip").evaluateAll((chips) => chips.map((c) => c.dataset.tag));
const clipboard = (page) => page.evaluate(() => navigator.clipboard.readText());
const toastSays = (page, text) => page.locator("#toast.show", { hasText: text }).waitFor({ timeout: 5000 });

try {
  const page = await openPage({ viewport: { width: 960, height: 1100 } });

  // 1. No key yet: the 401 becomes a sentence and the key box opens, all from the keyboard.
  await page.focus("#text");
  await page.keyboard.press("Control+Enter");
  await page.locator("#error", { hasText: "needs an API key" }).waitFor({ timeout: 10000 });
  assert.ok(await page.locator("#key-panel").evaluate((d) => d.open), "the key box opens after a 401");
  // the request id is random hex ("…244017…" once held 401): only the words before it are the message
  const said = (await page.locator("#error").textContent()).replace(/\(request id [0-9a-f]+\)/, "");
  assert.doesNotMatch(said, /\b401\b|unauthorized|Bearer/i);
  ok("without a key: a sentence saying the server needs one, and the key box opens");

  // 2. The key, typed then Enter: chips with a confidence band, kept in local storage.
  await page.focus("#key");
  await page.keyboard.type(KEY);
  await page.keyboard.press("Enter");
  await page.locator("#chips .chip").first().waitFor({ timeout: 10000 });
  const tags = await chipTags(page);
  assert.equal(tags[0], "#AusOpen", tags.join(" "));
  assert.ok(await page.locator("#error").isHidden());
  const bands = await page.locator("#chips .chip .band").evaluateAll((b) => b.map((e) => e.className));
  assert.ok(bands.every((c) => /band (strong|good|weak)/.test(c)), bands.join());
  const chipText = await page.locator("#chips").textContent();
  assert.doesNotMatch(chipText, /retrieval|extract|0\.\d\d/, "no raw scores or source names");
  assert.equal(await page.evaluate(() => localStorage.getItem("tagsmith.apiKey")), KEY);
  assert.equal(await page.locator("#key-why").textContent(), "The server accepted this key.");
  ok(`with the key: chips ${tags.join(" ")} with strong/good/weak bands, key remembered`);

  // 3. Copy one (Enter on the focused chip), then all.
  assert.equal(await page.evaluate(() => document.activeElement.dataset.tag), "#AusOpen", "focus moves to the first chip");
  await page.keyboard.press("Enter");
  await toastSays(page, "Copied #AusOpen");
  assert.equal(await clipboard(page), "#AusOpen");
  await page.click("#copy-all");
  assert.equal(await clipboard(page), tags.join(" "));
  ok("Enter on a chip copies it; Copy all copies every tag");

  // 4. Add mode: a chip toggles its tag in the post box; Threads allows one tag.
  await page.check("input[name=mode][value=add]");
  const first = page.locator("#chips .chip").first();
  await first.click();
  assert.equal(await page.inputValue("#text"), `${POST} #AusOpen`);
  assert.equal(await first.getAttribute("aria-pressed"), "true");
  await first.click();
  assert.equal(await page.inputValue("#text"), POST);
  await page.selectOption("#platform", "threads");
  await page.click("#add-all");
  assert.equal((await page.inputValue("#text")).match(/#\w+/g).length, 1, "Threads: one tag");
  await toastSays(page, "Threads allows 1 hashtag");
  assert.match(await page.locator("#fits tr.chosen").textContent(), /Threads.*\/ 500.*1 \/ 1/);
  assert.match(await page.locator("#fits").textContent(), /X\d+ \/ 280/);
  ok("add mode toggles a tag in the post; Threads stops at one tag; the limits table follows the post");

  // 5. A photo from the file picker, alone (no text), then one dropped on the drop zone.
  await page.fill("#text", "");
  await page.setInputFiles("#image", process.env.RED_JPG);
  await page.locator("#preview:not([hidden])").waitFor();
  await page.click("#go");
  await page.locator("#chips .chip[data-tag='#Red']").waitFor({ timeout: 10000 });
  assert.equal((await chipTags(page))[0], "#Red");
  const blue = readFileSync(process.env.BLUE_JPG).toString("base64");
  await page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "blue.jpg", { type: "image/jpeg" }));
    document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, blue);
  await page.waitForFunction(() => document.getElementById("preview").alt.includes("blue.jpg"));
  await page.click("#go");
  await page.waitForFunction(() => document.querySelector("#chips .chip")?.dataset.tag === "#Blue", null, { timeout: 10000 });
  ok("a photo alone, picked or dropped, gets its tags (#Red, then #Blue)");

  // 6. The relevance floor's short list says so (the fixture models have no floor: this answer is staged).
  await page.route("**/v1/suggest", (route) => route.fulfill({ contentType: "application/json", body: JSON.stringify({
    suggestions: [{ tag: "#AusOpen", words: "aus open", score: 0.81, source: "grounding" },
      { tag: "#Tennis", words: "tennis", score: 0.2, source: "grounding" }],
    model: "tiny-en@test", lang: "en", detected_lang: "en", below_floor: true,
    warnings: ["lang 'en' was asked for, but the text reads as 'zh'"], took_ms: 3 }) }));
  await page.click("#remove-image");
  await page.fill("#text", POST);
  await page.selectOption("#platform", "instagram");
  await page.click("#go");
  await page.locator("#floor-note", { hasText: "Only 2 tags are about this post" }).waitFor({ timeout: 5000 });
  assert.match(await page.locator("#warnings").textContent(), /^Lang 'en' was asked for/);
  await page.unroute("**/v1/suggest");
  await page.check("input[name=mode][value=copy]");
  await page.locator("#toast.show").waitFor({ state: "detached", timeout: 5000 });
  await page.waitForTimeout(400); // the toast's fade-out
  await page.screenshot({ path: join(OUT, "try_page.png"), fullPage: true });
  ok("below_floor: 'Only 2 tags are about this post'; warnings as sentences; try_page.png saved");

  // 7. A reload keeps the key; a phone's width needs no sideways scrolling.
  const phone = await openPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await phone.evaluate((key) => localStorage.setItem("tagsmith.apiKey", key), KEY);
  await phone.reload();
  assert.equal(await phone.inputValue("#key"), KEY);
  await phone.click("#go");
  await phone.locator("#chips .chip").first().waitFor({ timeout: 10000 });
  const [scrollWidth, innerWidth] = await phone.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
  assert.ok(scrollWidth <= innerWidth, `page ${scrollWidth} px wide on a ${innerWidth} px phone`);
  const small = await phone.locator("button:visible").evaluateAll((bs) => bs.filter((b) => b.getBoundingClientRect().height < 40).map((b) => b.textContent));
  assert.deepEqual(small, [], "buttons large enough to tap");
  await phone.screenshot({ path: join(OUT, "try_page_phone.png"), fullPage: true });
  ok("the remembered key is used after a reload; readable on a phone; try_page_phone.png saved");

  assert.deepEqual(outside, [], "no request leaves the server (no CDN, no external asset)");
  assert.deepEqual(pageErrors, [], "no script error");
  ok("no external request, no script error");
} finally {
  await browser.close();
}
