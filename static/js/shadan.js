// Small conveniences only; every page works without this file.
// Loaded from a file (the Content Security Policy forbids inline scripts).
(function () {
  "use strict";
  const FULL = "０１２３４５６７８９";
  const HYPHENS = /[‐‑‒–—―−ー－ｰ]/g;
  function halfwidthDigits(s) {
    return s.replace(/[０-９]/g, (c) => String(FULL.indexOf(c))).replace(HYPHENS, "-");
  }
  document.addEventListener("change", (event) => {
    const el = event.target;
    if (!(el instanceof HTMLInputElement)) return;
    if (el.dataset.normalize === "digits") el.value = halfwidthDigits(el.value).trim();
    if (el.dataset.normalize === "postal") {
      const digits = halfwidthDigits(el.value).replace(/[^0-9]/g, "");
      if (digits.length === 7) el.value = digits.slice(0, 3) + "-" + digits.slice(3);
    }
  });
  // Errors in sight: a page that comes back with errors opens on its summary (a screen
  // reader announces it), and each link in it puts the cursor in its field.
  const summary = document.querySelector("[data-error-summary]");
  if (summary instanceof HTMLElement) {
    summary.focus();
    summary.addEventListener("click", (event) => {
      const link = event.target instanceof Element ? event.target.closest("a[data-error-link]") : null;
      const target = link ? document.getElementById(link.getAttribute("data-error-link") || "") : null;
      if (target) {
        event.preventDefault();
        target.scrollIntoView({ block: "center" });
        target.focus({ preventScroll: true });
        history.replaceState(null, "", "#" + target.id);
      }
    });
  }
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
