/* Live checklist of the technical tests page: while the page is visible, the checklist is asked again every few
   seconds (data-sandbox-status-url, JSON with the rendered list) and replaced in place; the steps newly validated
   (or to be done again, after a new withdrawal of consent) are announced in the polite live region
   (data-sandbox-live). The polling pauses while the page is hidden and stops when the results are frozen (the tests
   are over). Without JavaScript, the page's « Actualiser la liste » link does the same. */
(function () {
  "use strict";
  var container = document.querySelector("[data-sandbox-status-url]");
  if (!container || !window.fetch || !window.JSON) {
    return;
  }
  var url = container.getAttribute("data-sandbox-status-url");
  var delay = (parseInt(container.getAttribute("data-sandbox-poll-seconds"), 10) || 5) * 1000;
  var live = document.getElementById(container.getAttribute("data-sandbox-live"));
  var doneText = container.getAttribute("data-done-text");
  var undoneText = container.getAttribute("data-undone-text");
  var completeText = container.getAttribute("data-complete-text");
  var timer = null;

  function doneCodes() {
    var codes = {};
    var items = container.querySelectorAll("[data-item-code]");
    for (var i = 0; i < items.length; i += 1) {
      codes[items[i].getAttribute("data-item-code")] = items[i].getAttribute("data-done") === "true";
    }
    return codes;
  }

  function finished() {
    var list = container.querySelector("[data-sandbox-checklist]");
    return !list || list.getAttribute("data-frozen") === "true";
  }

  function announce(before, data) {
    var gained = [];
    var lost = [];
    data.items.forEach(function (item) {
      var was = before[item.code] === true;
      if (item.done && !was) {
        gained.push(item.label);
      } else if (!item.done && was) {
        lost.push(item.label);
      }
    });
    var parts = [];
    if (gained.length) {
      parts.push(doneText + " " + gained.join(", ") + ".");
    }
    if (lost.length) {
      parts.push(undoneText + " " + lost.join(", ") + ".");
    }
    if (gained.length && data.complete) {
      parts.push(completeText);
    }
    if (parts.length && live) {
      live.textContent = parts.join(" ");
    }
  }

  function schedule() {
    if (timer === null) {
      timer = window.setTimeout(poll, delay);
    }
  }

  function poll() {
    timer = null;
    if (document.hidden) {
      return; // asked again when the page is shown
    }
    fetch(url, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (data) {
        var before = doneCodes();
        container.innerHTML = data.html;
        announce(before, data);
        if (!finished()) {
          schedule();
        }
      })
      .catch(function () {
        // A lost connection or an ended session: try again later, the reload link still works.
        schedule();
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !finished()) {
      schedule();
    }
  });
  if (!finished()) {
    schedule();
  }
})();
