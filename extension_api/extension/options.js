// Options page: server URL, API key, enabled sites, max suggestions. Saving asks for host access to a
// non-local server or to "other sites" (a click is the user gesture chrome.permissions.request needs).
"use strict";

const $ = (id) => document.getElementById(id);
const say = (text, ok = true) => { $("message").textContent = text; $("message").className = ok ? "ok" : "bad"; };

async function load() {
  const settings = await tagsmithLoadSettings();
  $("serverUrl").value = settings.serverUrl;
  $("apiKey").value = settings.apiKey;
  $("maxSuggestions").value = settings.maxSuggestions;
  $("otherSites").value = (settings.otherSites || []).join("\n");
  for (const site of TAGSMITH_SITES) {
    const label = document.createElement("label");
    label.className = "inline";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = `site-${site.id}`;
    box.checked = !!settings.sites[site.id];
    label.append(box, site.label);
    $("sites").append(label);
  }
}

function readForm() {
  const serverUrl = $("serverUrl").value.trim().replace(/\/+$/, "");
  tagsmithServerOrigin(serverUrl); // throws on a bad URL
  const maxSuggestions = Number($("maxSuggestions").value);
  if (!Number.isInteger(maxSuggestions) || maxSuggestions < 1 || maxSuggestions > TAGSMITH_MAX_SUGGESTIONS) {
    throw new Error(`max suggestions must be a whole number from 1 to ${TAGSMITH_MAX_SUGGESTIONS}`);
  }
  const otherSites = $("otherSites").value.split("\n").map((s) => s.trim()).filter(Boolean);
  const bad = otherSites.find((p) => !/^(https?|\*):\/\/[^/*]+(\.[^/]+)?\/.*$/.test(p) && !/^(https?|\*):\/\/\*\.[^/]+\/.*$/.test(p));
  if (bad) throw new Error(`"${bad}" is not a match pattern like https://fosstodon.org/*`);
  const sites = Object.fromEntries(TAGSMITH_SITES.map((s) => [s.id, $(`site-${s.id}`).checked]));
  return { serverUrl, apiKey: $("apiKey").value.trim(), maxSuggestions, otherSites, sites };
}

$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  let settings;
  try { settings = readForm(); } catch (err) { return say(err.message, false); }
  // Chrome grants the manifest's sites at install; Firefox asks for them here, with the server's host.
  const origins = [tagsmithServerOrigin(settings.serverUrl), ...tagsmithSitePatterns(settings)];
  let granted = true;
  try { granted = await chrome.permissions.request({ origins }); } catch (err) { return say(err.message, false); }
  await chrome.storage.local.set({ settings });
  await chrome.runtime.sendMessage({ type: "sync" });
  say(granted ? "Saved. Reload open tabs of the enabled sites." : "Saved, but host access was refused: the server or some sites will not work.", granted);
});

$("test").addEventListener("click", async () => {
  const status = await chrome.runtime.sendMessage({ type: "check" });
  if (status.connected && status.keyValid) say("Connected; the key is valid.");
  else say(status.lastError || "Not connected.", false);
});

load();
