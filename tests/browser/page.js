// The "site's editor": keeps its own state from `input` events only (like a React controlled field),
// so the test can check the extension's insertions reach the site's state.
window.editorState = { post: "", rich: "", inputEvents: [], lastInputAt: 0 };
for (const id of ["post", "rich"]) {
  const el = document.getElementById(id);
  el.addEventListener("input", (e) => {
    const value = id === "post" ? el.value : el.innerText.replace(/\n$/, "");
    window.editorState[id] = value;
    window.editorState.inputEvents.push({ id, inputType: e.inputType, trusted: e.isTrusted });
    window.editorState.lastInputAt = performance.now();
    document.getElementById(`${id}-state`).textContent = value;
  });
}
