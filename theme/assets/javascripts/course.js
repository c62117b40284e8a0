// The course site's layout helpers (theme/main.html loads this after the theme's own script).
//
// A code block without syntax colours is either a figure drawn in text (it has box-drawing
// characters or arrows) or captured program output. theme/assets/stylesheets/course.css
// wraps output like a terminal; a figure must not wrap, so here it gets the class
// course-figure and, when it is wider than its column, a smaller font (--course-fit) until
// it fits. pre.dataset.courseFit records the scale (1: it fitted as it is). Each figure is
// fitted again when its width changes (a window resized, a hidden tab shown).
//
// For printing, each tab of a tabbed code block gets its label (data-course-label), which
// course.css prints above it, since a printed page shows every tab.
(function () {
  "use strict";

  var FIGURE = /[\u2190-\u21ff\u2500-\u257f\u25a0-\u25ff\u2794-\u27bf]|-->|<--|\+--/;

  function fit(pre) {
    var code = pre.querySelector(":scope > code");
    if (!code) return;
    code.style.removeProperty("--course-fit");
    var room = code.clientWidth;
    if (!room) return;  // not shown (a tab that is not selected)
    var natural = code.scrollWidth;
    var scale = 1;
    if (natural > room) {
      scale = room / natural;
      code.style.setProperty("--course-fit", scale.toFixed(4));
      for (var tries = 0; tries < 8 && code.scrollWidth > code.clientWidth; tries++) {
        scale *= 0.97;  // the font's widths round: shrink a little more
        code.style.setProperty("--course-fit", scale.toFixed(4));
      }
    }
    pre.dataset.courseFit = scale.toFixed(3);
  }

  function init() {
    var figures = [];
    document.querySelectorAll(".md-typeset pre").forEach(function (pre) {
      var code = pre.querySelector(":scope > code");
      if (!code || code.querySelector("span[class]")) return;  // coloured: source code
      if (FIGURE.test(code.textContent)) {
        pre.classList.add("course-figure");
        figures.push(pre);
      } else {
        pre.classList.add("course-output");
      }
    });
    figures.forEach(fit);
    if (typeof ResizeObserver !== "undefined") {
      var widths = new WeakMap();
      var observer = new ResizeObserver(function (entries) {
        entries.forEach(function (entry) {
          var width = Math.round(entry.contentRect.width);
          if (widths.get(entry.target) === width) return;  // a height change: our own doing
          widths.set(entry.target, width);
          fit(entry.target);
        });
      });
      figures.forEach(function (pre) { observer.observe(pre); });
    }

    document.querySelectorAll(".md-typeset .tabbed-set").forEach(function (set) {
      var labels = set.querySelectorAll(":scope > .tabbed-labels > label");
      var blocks = set.querySelectorAll(":scope > .tabbed-content > .tabbed-block");
      blocks.forEach(function (block, i) {
        if (labels[i]) block.dataset.courseLabel = labels[i].textContent.trim();
      });
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(init);  // the theme's "page loaded" signal
  } else {
    init();
  }
})();
