// Popup: connected, key valid, last error (checked afresh each time it opens).
"use strict";

const show = (id, value, yes = "yes", no = "no") => {
  const el = document.getElementById(id);
  el.textContent = value === undefined ? "unknown" : value ? yes : no;
  el.className = value === undefined ? "unknown" : value ? "ok" : "bad";
};

async function refresh() {
  const settings = await tagsmithLoadSettings();
  document.getElementById("server").textContent = settings.serverUrl;
  const { status } = await chrome.storage.local.get("status");
  render(status || {});
  render(await chrome.runtime.sendMessage({ type: "check" }));
}

function render(status) {
  show("connected", status.connected);
  show("keyValid", status.connected ? status.keyValid : undefined);
  document.getElementById("lastError").textContent = status.lastError || "none";
}

document.getElementById("options").addEventListener("click", () => chrome.runtime.openOptionsPage());
refresh();
