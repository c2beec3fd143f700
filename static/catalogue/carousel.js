/* The screenshots carousel of a service's page (W3C ARIA Authoring Practices, « Carousel » pattern).
   Without JavaScript, the screenshots form a row that scrolls sideways. With it, one screenshot shows at a time;
   the « précédente » / « suivante » buttons move through them (looping, so that the focus never lands on a
   disabled button), the left and right arrow keys too, and a polite live region says which one is shown. */
(function () {
  "use strict";
  var carousels = document.querySelectorAll("[data-carousel]");
  Array.prototype.forEach.call(carousels, function (root) {
    var track = root.querySelector("[data-carousel-track]");
    var slides = root.querySelectorAll("[data-carousel-slide]");
    var controls = root.querySelector("[data-carousel-controls]");
    var previous = root.querySelector("[data-carousel-prev]");
    var next = root.querySelector("[data-carousel-next]");
    var status = root.querySelector("[data-carousel-status]");
    if (!track || !controls || !previous || !next || !status || slides.length < 2) {
      return;
    }
    var template = status.getAttribute("data-template");
    var current = 0;

    function show(index) {
      current = (index + slides.length) % slides.length;
      Array.prototype.forEach.call(slides, function (slide, position) {
        slide.hidden = position !== current;
      });
      status.textContent = template
        .replace("%(current)s", String(current + 1))
        .replace("%(total)s", String(slides.length));
    }

    root.classList.add("cat-carousel--enhanced");
    // One screenshot at a time: the row no longer scrolls, so it leaves the tab order (the buttons move instead)
    // and its name no longer speaks of scrolling.
    track.removeAttribute("tabindex");
    if (track.getAttribute("data-enhanced-label")) {
      track.setAttribute("aria-label", track.getAttribute("data-enhanced-label"));
    }
    controls.hidden = false;
    previous.addEventListener("click", function () { show(current - 1); });
    next.addEventListener("click", function () { show(current + 1); });
    root.addEventListener("keydown", function (event) {
      if (event.target.closest("input, textarea, select")) {
        return;
      }
      if (event.key === "ArrowLeft") {
        show(current - 1);
        event.preventDefault();
      } else if (event.key === "ArrowRight") {
        show(current + 1);
        event.preventDefault();
      }
    });
    show(0);
  });
})();
