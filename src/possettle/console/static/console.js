/* Charts of the settlements page, drawn with the vendored Chart.js from the JSON the page embeds
   (no inline script, so the Content-Security-Policy can forbid it). */
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("chart-data");
    if (!node || typeof Chart === "undefined") { return; }
    var data = JSON.parse(node.textContent);
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      Chart.defaults.animation = false;  /* the reader asked for no motion */
    }
    var rate = document.getElementById("chart-rate");
    if (rate) {
      new Chart(rate, {
        type: "line",
        data: {
          labels: data.rate.map(function (d) { return d.day; }),
          datasets: [{ label: data.labels.rate, data: data.rate.map(function (d) { return d.rate * 100; }) }]
        },
        options: { scales: { y: { min: 0, max: 100 } } }
      });
    }
    var byGroup = {};
    Object.keys(data.by_group).forEach(function (g) { byGroup[data.group_names[g] || g] = data.by_group[g]; });
    var byCause = {};  /* cause ids stay ids; a failure without a known cause says so */
    Object.keys(data.by_cause).forEach(function (c) { byCause[data.cause_names[c] || c] = data.by_cause[c]; });
    [["chart-cause", byCause, data.labels.cause], ["chart-group", byGroup, data.labels.group]]
      .forEach(function (spec) {
        var canvas = document.getElementById(spec[0]);
        if (!canvas) { return; }
        new Chart(canvas, {
          type: "bar",
          data: { labels: Object.keys(spec[1]), datasets: [{ label: spec[2], data: Object.values(spec[1]) }] },
          options: {
            indexAxis: "y",
            plugins: { legend: { display: false } },
            scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }  /* counts */
          }
        });
      });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
