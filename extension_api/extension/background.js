// Service worker (Chrome) / background script (Firefox): the only place that talks to the tagsmith
// server. Content scripts send it messages; it makes the requests with the extension's host permission
// for the server, so no CORS set-up is needed on the server (and the page never sees the API key).
"use strict";
if (typeof TAGSMITH_SITES === "undefined") importScripts("settings.js"); // Chrome; Firefox lists it in the manifest

const CONTENT_SCRIPT_ID = "tagsmith-compose";
const REQUEST_TIMEOUT_MS = 5000;
const CLIENT = `tagsmith-extension/${chrome.runtime.getManifest().version}`;
const inflight = new Map(); // "tabId:frameId" -> AbortController of the tab's pending /v1/suggest
const stats = { suggestRequests: 0, aborted: 0 }; // read by the browser test

// -- content script registration: only on the enabled sites whose host permission is granted ----------
async function syncContentScripts() {
  const settings = await tagsmithLoadSettings();
  const granted = [];
  for (const pattern of tagsmithSitePatterns(settings)) {
    if (await chrome.permissions.contains({ origins: [pattern] })) granted.push(pattern);
  }
  const existing = await chrome.scripting.getRegisteredContentScripts({ ids: [CONTENT_SCRIPT_ID] });
  if (existing.length) await chrome.scripting.unregisterContentScripts({ ids: [CONTENT_SCRIPT_ID] });
  if (granted.length) {
    await chrome.scripting.registerContentScripts([
      { id: CONTENT_SCRIPT_ID, matches: granted, js: ["adapters.js", "content.js"], runAt: "document_idle", allFrames: false },
    ]);
  }
  await chrome.storage.local.set({ registeredSites: granted });
}

let syncing = Promise.resolve();
function scheduleSync() {
  syncing = syncing.then(syncContentScripts).catch((err) => setStatus({ lastError: `content scripts: ${err.message}` }));
  return syncing;
}
chrome.runtime.onInstalled.addListener(scheduleSync);
chrome.runtime.onStartup.addListener(scheduleSync);
chrome.permissions.onAdded.addListener(scheduleSync);
chrome.permissions.onRemoved.addListener(scheduleSync);
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && changes.settings) scheduleSync();
});

// -- status for the popup: connected, key valid, last error ------------------------------------------
let lastStatus = {};
async function setStatus(patch) {
  const next = { ...lastStatus, ...patch };
  if (JSON.stringify(next) === JSON.stringify(lastStatus)) return; // no storage churn on every request
  lastStatus = next;
  await chrome.storage.local.set({ status: next });
  const problem = next.connected === false || next.keyValid === false;
  await chrome.action.setBadgeText({ text: problem ? "!" : "" });
  if (problem) await chrome.action.setBadgeBackgroundColor({ color: "#b3261e" });
  await chrome.action.setTitle({ title: problem ? `tagsmith: ${next.lastError || "not connected"}` : "tagsmith" });
}

// -- requests ----------------------------------------------------------------------------------------
async function callServer(path, { method = "GET", body, signal } = {}) {
  const settings = await tagsmithLoadSettings();
  const headers = { "Content-Type": "application/json" };
  if (settings.apiKey) headers.Authorization = `Bearer ${settings.apiKey}`;
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const url = new URL(path, settings.serverUrl).toString();
  let response;
  try {
    response = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout, credentials: "omit", cache: "no-store",
    });
  } catch (err) {
    if (signal && signal.aborted) return { ok: false, aborted: true };
    const why = timeout.aborted ? `no answer from ${settings.serverUrl} in ${REQUEST_TIMEOUT_MS / 1000} s` : `cannot reach ${settings.serverUrl}`;
    await setStatus({ connected: false, lastError: why, checkedAt: Date.now() });
    return { ok: false, error: why };
  }
  let data = null;
  try { data = await response.json(); } catch (_) { /* not JSON: keep null */ }
  if (response.ok) {
    // A protected route answering 2xx proves the key too; /healthz only proves the server is up.
    await setStatus(path.startsWith("/v1/") ? { connected: true, keyValid: true, lastError: "", checkedAt: Date.now() } : { connected: true });
    return { ok: true, status: response.status, data };
  }
  const message = (data && data.error && data.error.message) || `HTTP ${response.status}`;
  const patch = { connected: true, lastError: `${response.status}: ${message}`, checkedAt: Date.now() };
  if (response.status === 401) patch.keyValid = false;
  await setStatus(patch);
  return { ok: false, status: response.status, error: message, retryAfter: response.headers.get("Retry-After") };
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function suggest(message, sender) {
  const slot = `${sender.tab ? sender.tab.id : "x"}:${sender.frameId || 0}`;
  const previous = inflight.get(slot);
  if (previous) { previous.abort(); stats.aborted += 1; } // a newer pause in typing replaces the pending request
  stats.suggestRequests += 1;
  const controller = new AbortController();
  inflight.set(slot, controller);
  const settings = await tagsmithLoadSettings();
  const k = Math.min(TAGSMITH_MAX_SUGGESTIONS * 2, Math.max(1, settings.maxSuggestions) * 2); // headroom for filtering
  const body = { text: String(message.text || ""), thread: message.thread || [], hashtags: message.hashtags || [], k };
  if (message.image) body.image = message.image;
  try {
    const answer = await callServer("/v1/suggest", { method: "POST", body, signal: controller.signal });
    if (!answer.ok) return answer;
    return { ok: true, suggestions: answer.data.suggestions, tookMs: answer.data.took_ms, maxSuggestions: settings.maxSuggestions };
  } finally {
    if (inflight.get(slot) === controller) inflight.delete(slot);
  }
}

async function feedback(message, sender) {
  const site = sender.tab && sender.tab.url ? new URL(sender.tab.url).hostname : "unknown";
  const body = {
    tag: String(message.tag), action: message.action,
    text_hash: await sha256Hex(String(message.text || "")), client: `${CLIENT} ${site}`.slice(0, 64),
  };
  return callServer("/v1/feedback", { method: "POST", body });
}

async function check() {
  const health = await callServer("/healthz");
  if (!health.ok) return { ...lastStatus };
  await callServer("/v1/trending?limit=1"); // a protected route: tells whether the key is accepted
  return { ...lastStatus };
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  const handlers = { suggest, feedback, check: () => check(), sync: () => scheduleSync().then(() => ({ ok: true })) };
  const handler = handlers[message && message.type];
  if (!handler) return false;
  handler(message, sender).then(sendResponse, (err) => sendResponse({ ok: false, error: String(err && err.message || err) }));
  return true; // answer asynchronously
});
