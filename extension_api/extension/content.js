// Content script: watches compose boxes (textarea / contenteditable), asks for hashtags once typing
// pauses, shows them as chips under the box and inserts the chosen one with real editing commands, so
// the site's own editor (React, Draft.js, Lexical, ProseMirror...) sees an ordinary `input`.
// It never takes focus by itself: focus moves to the chips only on Tab, and comes back after.
"use strict";

(() => {
  if (globalThis.__tagsmithContent) return;
  globalThis.__tagsmithContent = true;

  const DEBOUNCE_MS = 300;
  const MIN_TEXT_CHARS = 3;
  const MAX_IMAGE_BYTES = 2 * 1024 * 1024;
  const TAG_RE = /#[\p{L}\p{N}_]+/gu;
  const PARTIAL_RE = /(^|\s)(#[\p{L}\p{N}_]*)$/u;
  const adapter = TagsmithAdapters.pick(location);
  let maxSuggestions = 5;
  let enabled = true; // false once the extension is reloaded/removed under this page (context invalidated)

  chrome.storage.local.get("settings").then(({ settings }) => {
    if (settings && settings.maxSuggestions) maxSuggestions = settings.maxSuggestions;
  });
  chrome.storage.onChanged.addListener((changes) => {
    if (changes.settings && changes.settings.newValue) maxSuggestions = changes.settings.newValue.maxSuggestions || maxSuggestions;
  });

  // -- compose boxes --------------------------------------------------------------------------------
  function composeBoxOf(target) {
    if (!(target instanceof Element) || target.closest("tagsmith-chips")) return null;
    let box = null;
    if (target.matches("textarea")) box = target.readOnly || target.disabled ? null : target;
    else if (target.isContentEditable) {
      box = target;
      while (box.parentElement && box.parentElement.isContentEditable) box = box.parentElement; // the editing host
    }
    return box && adapter.isCompose(box) ? box : null;
  }

  const isTextarea = (box) => box.tagName === "TEXTAREA";
  const readText = (box) => (isTextarea(box) ? box.value : (box.innerText || "").replace(/\n$/, ""));
  const hashtagsIn = (text) => text.match(TAG_RE) || [];
  const sameTag = (a, b) => a.toLowerCase() === b.toLowerCase();

  // The text the server sees (without a hashtag being typed at the end) and that partial tag.
  function splitPartial(text) {
    const m = text.match(PARTIAL_RE);
    if (!m) return { body: text, partial: "" };
    return { body: text.slice(0, text.length - m[2].length), partial: m[2] };
  }

  // -- inserting text the way typing does ------------------------------------------------------------
  function selectEnd(box, charsBack) {
    if (isTextarea(box)) {
      const end = box.value.length;
      box.setSelectionRange(end - charsBack, end);
      return true;
    }
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    let last = null;
    while (walker.nextNode()) if (walker.currentNode.data.length) last = walker.currentNode;
    const range = document.createRange();
    if (charsBack) {
      const trimmed = last ? last.data.replace(/[\n\u00a0 ]+$/, (m) => (m.includes("\n") ? "" : m)) : "";
      if (!last || trimmed.length < charsBack) return false;
      range.setStart(last, trimmed.length - charsBack);
      range.setEnd(last, trimmed.length);
    } else if (last) {
      range.setStart(last, last.data.length);
      range.collapse(true);
    } else {
      range.selectNodeContents(box);
      range.collapse(false);
    }
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return true;
  }

  function insertText(box, text) {
    // execCommand fires beforeinput + input (inputType insertText) and keeps the site's undo stack.
    if (document.execCommand("insertText", false, text)) return;
    if (isTextarea(box)) {
      box.setRangeText(text, box.selectionStart, box.selectionEnd, "end");
    } else {
      const range = getSelection().getRangeAt(0);
      range.deleteContents();
      range.insertNode(document.createTextNode(text));
      range.collapse(false);
    }
    box.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertText", data: text }));
  }

  // -- platform limits -------------------------------------------------------------------------------
  function limitCheck(text, tag) {
    const { maxHashtags, maxChars, countChars, name } = adapter.limits;
    const { body, partial } = splitPartial(text);
    const completing = partial && tag.toLowerCase().startsWith(partial.toLowerCase());
    const next = completing ? body + tag : text + (text && !/\s$/.test(text) ? " " : "") + tag;
    const count = countChars || ((s) => [...s].length);
    if (maxHashtags && hashtagsIn(next).length > maxHashtags) return `${name} allows ${maxHashtags} hashtags per post`;
    if (maxChars && count(next) > maxChars) return `${name} allows ${maxChars} characters; ${tag} would make ${count(next)}`;
    return "";
  }

  function usageHint(text) {
    const { maxHashtags, maxChars, countChars, name } = adapter.limits;
    const count = countChars || ((s) => [...s].length);
    const parts = [];
    if (maxHashtags) parts.push(`${hashtagsIn(text).length}/${maxHashtags} hashtags`);
    if (maxChars) parts.push(`${count(text)}/${maxChars}`);
    return parts.length ? `${name}: ${parts.join(", ")}` : "";
  }

  // -- the chip bar (shadow DOM: the site's CSS cannot reach in, ours cannot leak out) ----------------
  const CSS = `
    :host { all: initial; position: absolute; z-index: 2147483647; }
    .bar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; max-width: 560px; padding: 6px 8px;
           background: #fff; border: 1px solid #d0d7de; border-radius: 10px; box-shadow: 0 2px 8px rgba(0,0,0,.12);
           font: 13px/1.3 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
    .chip { font: inherit; cursor: pointer; border: 1px solid #b6c8f0; background: #eef3ff; color: #1a4fd0;
            border-radius: 999px; padding: 3px 10px; }
    .chip:hover { background: #dde7ff; }
    .chip:focus-visible { outline: 2px solid #1a4fd0; outline-offset: 1px; }
    .chip[aria-disabled="true"] { cursor: not-allowed; color: #8c959f; background: #f6f8fa; border-color: #d0d7de; }
    .hint { color: #57606a; font-size: 12px; }
    .hint.over { color: #b3261e; font-weight: 600; }
    .close { font: inherit; cursor: pointer; border: 0; background: transparent; color: #57606a; padding: 0 4px; margin-left: auto; }
    .label { color: #57606a; font-size: 12px; }`;

  class ChipBar {
    constructor(controller) {
      this.controller = controller;
      this.host = document.createElement("tagsmith-chips");
      this.root = this.host.attachShadow({ mode: "open" });
      if ("adoptedStyleSheets" in this.root) { // constructed sheets are not subject to the page's style CSP
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        this.root.adoptedStyleSheets = [sheet];
      } else {
        const style = document.createElement("style");
        style.textContent = CSS;
        this.root.append(style);
      }
      this.bar = document.createElement("div");
      this.bar.className = "bar";
      this.bar.setAttribute("role", "toolbar");
      this.bar.setAttribute("aria-label", "Suggested hashtags (tagsmith). Arrow keys move, Enter inserts, Escape closes.");
      this.root.append(this.bar);
      this.bar.addEventListener("keydown", (e) => this.onKeydown(e));
      this.bar.addEventListener("mousedown", (e) => e.preventDefault()); // clicking a chip keeps focus in the box
      this.reposition = () => this.place();
      this.tags = [];
    }

    get visible() { return this.host.isConnected; }
    chips() { return [...this.bar.querySelectorAll(".chip")]; }

    render(tags, text) {
      this.tags = tags;
      this.bar.replaceChildren();
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = "#";
      label.setAttribute("aria-hidden", "true");
      this.bar.append(label);
      let blockedWhy = "";
      tags.forEach((tag, i) => {
        const chip = document.createElement("button");
        chip.type = "button";
        chip.className = "chip";
        chip.textContent = tag;
        chip.tabIndex = i === 0 ? 0 : -1;
        const why = limitCheck(text, tag);
        chip.setAttribute("aria-disabled", why ? "true" : "false");
        chip.setAttribute("aria-label", why ? `${tag}: ${why}` : `Insert hashtag ${tag}`);
        if (why) { chip.title = why; blockedWhy = blockedWhy || why; }
        chip.addEventListener("click", () => this.controller.accept(tag, chip));
        this.bar.append(chip);
      });
      const hint = document.createElement("span");
      hint.className = blockedWhy ? "hint over" : "hint";
      hint.setAttribute("role", "status");
      hint.textContent = blockedWhy || usageHint(text);
      this.bar.append(hint);
      const close = document.createElement("button");
      close.type = "button";
      close.className = "close";
      close.textContent = "×";
      close.setAttribute("aria-label", "Close hashtag suggestions");
      close.tabIndex = -1;
      close.addEventListener("click", () => this.hide());
      this.bar.append(close);
      if (!this.visible) {
        document.documentElement.append(this.host);
        addEventListener("scroll", this.reposition, { passive: true, capture: true });
        addEventListener("resize", this.reposition, { passive: true });
      }
      this.place();
    }

    place() {
      const r = this.controller.box.getBoundingClientRect();
      if (!r.width && !r.height) return this.hide();
      const height = this.host.offsetHeight || 40;
      const below = r.bottom + 4 + height <= innerHeight || r.top < height + 4;
      this.host.style.left = `${Math.max(0, r.left + scrollX)}px`;
      this.host.style.top = `${(below ? r.bottom + 4 : r.top - height - 4) + scrollY}px`;
    }

    hide() {
      if (!this.visible) return;
      const hadFocus = this.root.activeElement != null;
      this.host.remove();
      removeEventListener("scroll", this.reposition, { capture: true });
      removeEventListener("resize", this.reposition);
      if (hadFocus) this.controller.focusBox();
    }

    focusChip(index) {
      const chips = this.chips();
      if (!chips.length) return;
      const i = (index + chips.length) % chips.length;
      chips.forEach((c, j) => (c.tabIndex = j === i ? 0 : -1));
      chips[i].focus();
    }

    onKeydown(e) {
      const chips = this.chips();
      const i = chips.indexOf(this.root.activeElement);
      const keys = {
        ArrowRight: () => this.focusChip(i + 1), ArrowDown: () => this.focusChip(i + 1),
        ArrowLeft: () => this.focusChip(i - 1), ArrowUp: () => this.focusChip(i - 1),
        Home: () => this.focusChip(0), End: () => this.focusChip(chips.length - 1),
        Enter: () => i >= 0 && this.controller.accept(this.tags[i], chips[i]),
        " ": () => i >= 0 && this.controller.accept(this.tags[i], chips[i]),
        Escape: () => this.hide(),
        Tab: () => this.controller.focusBox(), // Tab / Shift+Tab leave the chips back to the editor
      };
      if (!keys[e.key]) return;
      e.preventDefault();
      e.stopPropagation();
      keys[e.key]();
    }
  }

  // -- one controller per focused compose box --------------------------------------------------------
  class Controller {
    constructor(box) {
      this.box = box;
      this.bar = new ChipBar(this);
      this.timer = 0;
      this.seq = 0;
      this.inserted = new Set(); // tags we inserted (not reported as typed)
      this.reportedTyped = new Set();
      this.lastText = "";
      this.pauseAt = 0;
      this.imageCache = new Map();
      this.words = new Map(); // "#AusOpen" -> "aus open": feedback sends the words, exactly as suggested
    }

    onInput() {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.request(), DEBOUNCE_MS);
    }

    async request() {
      if (!enabled || !this.box.isConnected) return;
      this.pauseAt = performance.now();
      const seq = ++this.seq; // answers to older requests are dropped (the worker also aborts them)
      const text = readText(this.box);
      this.reportTyped(text);
      const { body, partial } = splitPartial(text);
      if (body.replace(TAG_RE, "").trim().length < MIN_TEXT_CHARS) return this.bar.hide();
      const message = { type: "suggest", text: body, thread: adapter.thread(this.box), hashtags: hashtagsIn(body) };
      const image = await this.attachedImage();
      if (image) message.image = image;
      let answer;
      try {
        answer = await chrome.runtime.sendMessage(message);
      } catch (_) {
        enabled = false; // the extension was reloaded or removed: stay out of the way
        return this.bar.hide();
      }
      if (seq !== this.seq || !answer) return;
      if (!answer.ok) return this.bar.hide(); // quiet when the server is down; the popup says why
      this.lastText = body;
      for (const s of answer.suggestions) if (s.words) this.words.set(s.tag, s.words);
      const present = hashtagsIn(body);
      let tags = answer.suggestions.map((s) => s.tag).filter((t) => !present.some((p) => sameTag(p, t)));
      if (partial.length > 1) { // a tag being typed: the ones it could complete first
        const hit = (t) => t.toLowerCase().startsWith(partial.toLowerCase());
        tags = [...tags.filter(hit), ...tags.filter((t) => !hit(t))];
      }
      tags = tags.slice(0, answer.maxSuggestions || maxSuggestions);
      if (!tags.length) return this.bar.hide();
      this.bar.render(tags, readText(this.box));
      this.bar.host.dataset.pauseToChipsMs = (performance.now() - this.pauseAt).toFixed(1);
      this.bar.host.dataset.renderedAt = performance.now().toFixed(1);
      this.bar.host.dataset.seq = String(seq);
    }

    async attachedImage() {
      const src = TagsmithAdapters.attachedImage(adapter.composerRoot(this.box));
      if (!src) return null;
      if (!this.imageCache.has(src)) {
        this.imageCache.set(src, (async () => {
          try {
            const blob = await (await fetch(src)).blob();
            if (blob.size > MAX_IMAGE_BYTES || !blob.type.startsWith("image/")) return null;
            const bytes = new Uint8Array(await blob.arrayBuffer());
            let binary = "";
            for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
            return btoa(binary);
          } catch (_) { return null; }
        })());
      }
      return this.imageCache.get(src);
    }

    // Hashtags the person finished typing themselves (followed by a space or punctuation) -> "typed".
    reportTyped(text) {
      const done = [...text.matchAll(/#[\p{L}\p{N}_]+(?=[^\p{L}\p{N}_])/gu)].map((m) => m[0]);
      for (const tag of done) {
        const key = tag.toLowerCase();
        if (this.reportedTyped.has(key) || this.inserted.has(key) || [...tag].length < 3) continue;
        this.reportedTyped.add(key);
        this.send({ type: "feedback", action: "typed", tag, text });
      }
    }

    send(message) {
      chrome.runtime.sendMessage(message).catch(() => {}); // feedback is best effort
    }

    accept(tag, chip) {
      if (chip && chip.getAttribute("aria-disabled") === "true") return; // over the platform's limit
      const hadChipFocus = this.bar.root.activeElement != null;
      this.box.focus({ preventScroll: true });
      const text = readText(this.box);
      const { partial } = splitPartial(text);
      const completing = partial && tag.toLowerCase().startsWith(partial.toLowerCase()) && selectEnd(this.box, partial.length);
      if (!completing) {
        selectEnd(this.box, 0);
        insertText(this.box, (text && !/\s$/.test(text) ? " " : "") + tag);
      } else {
        insertText(this.box, tag);
      }
      this.inserted.add(tag.toLowerCase());
      this.send({ type: "feedback", action: "accepted", tag: this.words.get(tag) || tag, text: this.lastText });
      clearTimeout(this.timer); // our own input event must not re-ask at once: show what is left
      const rest = this.bar.tags.filter((t) => !sameTag(t, tag));
      if (rest.length) {
        this.bar.render(rest, readText(this.box));
        if (hadChipFocus) this.bar.focusChip(0);
      } else this.bar.hide();
    }

    focusBox() {
      this.box.focus({ preventScroll: true });
      selectEnd(this.box, 0);
    }
  }

  let active = null;
  const controllers = new WeakMap(); // box -> Controller: what was inserted/reported survives focus moves
  function controllerFor(box) {
    if (!active || active.box !== box) {
      if (active) active.bar.hide();
      if (!controllers.has(box)) controllers.set(box, new Controller(box));
      active = controllers.get(box);
    }
    return active;
  }

  document.addEventListener("input", (e) => {
    if (e.target instanceof Element && e.target.closest("tagsmith-chips")) return;
    const box = composeBoxOf(e.target);
    if (!box || !enabled) return;
    controllerFor(box).onInput();
  }, true);

  document.addEventListener("focusin", (e) => {
    if (active && e.target !== active.box && !(e.target instanceof Element && e.target.closest("tagsmith-chips")) && !active.box.contains(e.target)) {
      active.bar.hide();
    }
  }, true);

  // In the box, with chips showing: Tab moves into the chips, Escape closes them. Nothing else is touched.
  document.addEventListener("keydown", (e) => {
    if (!active || !active.bar.visible || e.target !== active.box && !active.box.contains(e.target)) return;
    if (e.key === "Tab" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      e.stopPropagation();
      active.bar.focusChip(0);
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      clearTimeout(active.timer);
      active.bar.hide();
    }
  }, true);
})();
