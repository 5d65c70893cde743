// Settings shared by the service worker, the options page and the popup (one classic script, no modules,
// so that Chrome's service worker (importScripts), Firefox's background scripts and pages all load it).
"use strict";

// The sites with an adapter in adapters.js. Their hosts are the only ones in the manifest's
// host_permissions (besides the local server); anything else ("other sites", a remote server) is asked
// for at run time from the options page (optional_host_permissions).
const TAGSMITH_SITES = [
  { id: "x", label: "X / Twitter", matches: ["https://x.com/*", "https://twitter.com/*", "https://mobile.twitter.com/*"] },
  { id: "mastodon", label: "Mastodon (mastodon.social; add other instances below)", matches: ["https://mastodon.social/*"] },
  { id: "bluesky", label: "Bluesky", matches: ["https://bsky.app/*"] },
  { id: "linkedin", label: "LinkedIn", matches: ["https://www.linkedin.com/*"] },
  { id: "threads", label: "Threads", matches: ["https://www.threads.net/*", "https://www.threads.com/*"] },
  { id: "facebook", label: "Facebook", matches: ["https://www.facebook.com/*"] },
  { id: "instagram", label: "Instagram", matches: ["https://www.instagram.com/*"] },
];

const TAGSMITH_DEFAULTS = {
  serverUrl: "http://127.0.0.1:8080",
  apiKey: "",
  sites: Object.fromEntries(TAGSMITH_SITES.map((s) => [s.id, true])),
  otherSites: [], // match patterns, e.g. "https://fosstodon.org/*": generic textarea/contenteditable handling
  maxSuggestions: 5,
};

const TAGSMITH_MAX_SUGGESTIONS = 15;

async function tagsmithLoadSettings() {
  const { settings } = await chrome.storage.local.get("settings");
  const merged = { ...TAGSMITH_DEFAULTS, ...(settings || {}) };
  merged.sites = { ...TAGSMITH_DEFAULTS.sites, ...((settings && settings.sites) || {}) };
  return merged;
}

function tagsmithServerOrigin(serverUrl) {
  const url = new URL(serverUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("the server URL must start with http:// or https://");
  return `${url.protocol}//${url.hostname}/*`; // match patterns ignore the port
}

// Match patterns of the sites the person enabled (content scripts are registered for these only).
function tagsmithSitePatterns(settings) {
  const patterns = [];
  for (const site of TAGSMITH_SITES) if (settings.sites[site.id]) patterns.push(...site.matches);
  for (const p of settings.otherSites || []) if (/^(https?|\*):\/\/[^/]+\/.*$/.test(p)) patterns.push(p);
  return [...new Set(patterns)];
}
