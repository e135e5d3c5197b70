// The investigation report's run page: follow a running report and show it when done.
// Without this file the page still has its refresh link.
(function () {
  "use strict";
  const progress = document.querySelector("[data-exposure-status]");
  if (!progress) return;
  const url = progress.dataset.exposureStatus;
  const template = progress.textContent;
  const firstNumber = /\d[\d,]*/;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((state) => {
        if (state.finished) {
          window.location.reload();
          return;
        }
        progress.textContent = template.replace(firstNumber, state.events_read.toLocaleString());
        window.setTimeout(poll, 2000);
      })
      .catch(() => window.setTimeout(poll, 10000));
  }
  window.setTimeout(poll, 1000);
})();
