/* Progress of an export of the dossier, updated in place (without JavaScript, the page offers a refresh link).
   The bar and the percentage follow the task; screen readers hear only the phase changes, not every percent.
   Once the export is ready (or failed), the page reloads to offer the download. */
(function () {
  "use strict";
  var box = document.getElementById("export-progress");
  if (!box || box.getAttribute("data-running") !== "1" || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("export-progress-bar");
  var phase = document.getElementById("export-phase");
  var percent = document.getElementById("export-percent");
  var live = document.getElementById("export-live");
  var reload = document.getElementById("export-reload");
  var delay = 1500;
  var failures = 0;
  if (reload) {
    reload.hidden = true;
  }

  function show(data) {
    bar.value = data.percent;
    bar.textContent = data.percent + " %";
    percent.textContent = data.percent;
    if (phase.textContent !== data.phase) {
      phase.textContent = data.phase;
      live.textContent = data.phase;
    }
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        show(data);
        if (data.running) {
          // Slower and slower for a long export: every few seconds is enough to follow it.
          delay = Math.min(delay + 500, 5000);
          window.setTimeout(poll, delay);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        failures += 1;
        if (failures >= 3) {
          if (reload) {
            reload.hidden = false;
          }
          return;
        }
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, delay);
})();
