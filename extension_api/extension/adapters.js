// Site adapters: which element is a compose box, the post a reply answers (sent as `thread`), an image
// attached in the composer, and the platform's limits. Anything not matched uses the generic adapter:
// any textarea or contenteditable. The selectors follow each site's markup as of 2025 and fail soft:
// when one stops matching, the site falls back to generic behaviour (no thread, no limit hint).
"use strict";

(() => {
  if (globalThis.TagsmithAdapters) return;

  const textOf = (el) => (el ? (el.innerText || el.textContent || "").trim() : "");
  const firstText = (root, selector) => (root ? textOf(root.querySelector(selector)) : "");

  // X counts characters with weights (most CJK and emoji count 2, every link 23): twitter-text's v3 config.
  const X_WEIGHT_1 = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];
  function xWeightedLength(text) {
    const withoutLinks = text.replace(/https?:\/\/\S+/g, "");
    const links = (text.match(/https?:\/\/\S+/g) || []).length;
    let length = links * 23;
    for (const ch of withoutLinks) {
      const cp = ch.codePointAt(0);
      length += X_WEIGHT_1.some(([lo, hi]) => cp >= lo && cp <= hi) ? 1 : 2;
    }
    return length;
  }

  // Image attached in the composer: a blob:/data: <img> the site shows as the attachment preview.
  function attachedImage(root) {
    if (!root) return null;
    const img = [...root.querySelectorAll("img")].find((i) => /^(blob|data):/.test(i.src));
    return img ? img.src : null;
  }

  // The text of the post a reply box answers: the nearest enclosing post (article) other than the box.
  function enclosingPost(box, selector) {
    const post = box.closest(selector);
    if (!post) return "";
    const clone = post.cloneNode(true);
    clone.querySelectorAll("textarea, [contenteditable], form, [role=textbox]").forEach((n) => n.remove());
    return textOf(clone).slice(0, 2000);
  }

  const generic = {
    id: "generic",
    isCompose: () => true,
    thread: () => [],
    composerRoot: (box) => box.closest("form") || box.parentElement,
    limits: {},
  };

  const adapters = [
    {
      id: "x",
      hosts: ["x.com", "twitter.com", "mobile.twitter.com"],
      isCompose: (box) => !!box.closest('[data-testid^="tweetTextarea"]') || box.getAttribute("role") === "textbox",
      // A reply: the dialog (or the status page) shows the post above the composer.
      thread: (box) => {
        const dialog = box.closest('[role="dialog"]');
        const scope = dialog || (/\/status\/\d+/.test(location.pathname) ? document : null);
        const text = firstText(scope, 'article [data-testid="tweetText"]');
        return text ? [text] : [];
      },
      composerRoot: (box) => box.closest('[role="dialog"]') || box.closest('[data-testid="primaryColumn"]') || box.parentElement,
      limits: { maxChars: 280, countChars: xWeightedLength, name: "X" },
    },
    {
      id: "mastodon",
      hosts: ["mastodon.social"],
      isCompose: (box) => box.matches("textarea"),
      thread: () => {
        const text = firstText(document, ".reply-indicator__content, .reply-indicator .status__content");
        return text ? [text] : [];
      },
      composerRoot: (box) => box.closest(".compose-form") || box.parentElement,
      limits: { maxChars: 500, name: "Mastodon" },
    },
    {
      id: "bluesky",
      hosts: ["bsky.app"],
      isCompose: () => true,
      thread: (box) => {
        const dialog = box.closest('[role="dialog"]');
        const text = firstText(dialog, '[data-testid="replyingToPost"], [data-testid^="postText"]');
        return text ? [text] : [];
      },
      composerRoot: (box) => box.closest('[role="dialog"]') || box.parentElement,
      limits: { maxChars: 300, name: "Bluesky" },
    },
    {
      id: "linkedin",
      hosts: ["www.linkedin.com"],
      isCompose: () => true,
      thread: (box) => {
        const post = box.closest(".feed-shared-update-v2, [data-urn]");
        const text = firstText(post, ".update-components-text, .feed-shared-inline-show-more-text");
        return text ? [text] : [];
      },
      composerRoot: (box) => box.closest(".share-box, [role=dialog]") || box.parentElement,
      limits: { maxChars: 3000, name: "LinkedIn" },
    },
    {
      id: "threads",
      hosts: ["www.threads.net", "www.threads.com"],
      isCompose: () => true,
      thread: (box) => {
        const dialog = box.closest('[role="dialog"]');
        const text = dialog ? enclosingPost(box, '[role="dialog"]') : "";
        return text ? [text] : [];
      },
      composerRoot: (box) => box.closest('[role="dialog"]') || box.parentElement,
      limits: { maxChars: 500, maxHashtags: 1, name: "Threads" },  // one topic tag per post
    },
    {
      id: "facebook",
      hosts: ["www.facebook.com"],
      isCompose: () => true,
      thread: (box) => {
        const text = box.closest('[role="dialog"]') ? "" : enclosingPost(box, '[role="article"]');
        return text ? [text] : [];
      },
      composerRoot: (box) => box.closest('[role="dialog"], form') || box.parentElement,
      limits: {},
    },
    {
      id: "instagram",
      hosts: ["www.instagram.com"],
      isCompose: () => true,
      thread: (box) => {
        const text = box.closest('[role="dialog"] form') ? "" : enclosingPost(box, "article");
        return text ? [text] : [];
      },
      composerRoot: (box) => box.closest('[role="dialog"]') || box.parentElement,
      limits: { maxHashtags: 5, maxChars: 2200, name: "Instagram" },
    },
  ];

  function pick(loc) {
    const found = adapters.find((a) => a.hosts.includes(loc.hostname));
    return found ? { ...generic, ...found } : generic;
  }

  globalThis.TagsmithAdapters = { pick, generic, adapters, xWeightedLength, attachedImage };
})();
