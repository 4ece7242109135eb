// Draws the observatory's charts from the JSON the page carries (no inline script:
// the page's CSP allows only this origin's files). Suppressed cells are gaps, never
// zeros; the table below each chart has every figure and why one is missing.
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("chart-data");
    if (!el || typeof Chart === "undefined") { return; }
    var data = JSON.parse(el.textContent);
    function values(s) { return s.figures.map(function (f) { return f.value; }); }
    var colour = "#0b5cad";
    var time = document.getElementById("chart-time");
    if (time && data.overTime.labels) {
      new Chart(time, {
        type: "line",
        data: { labels: data.overTime.labels, datasets: [{ label: data.unit, data: values(data.overTime), borderColor: colour, backgroundColor: colour, spanGaps: false }] },
        options: { animation: false, responsive: true, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } }
      });
    }
    var dim = document.getElementById("chart-dim");
    if (dim && data.byDim.labels) {
      new Chart(dim, {
        type: "bar",
        data: { labels: data.byDim.labels, datasets: [{ label: data.unit, data: values(data.byDim), backgroundColor: colour }] },
        options: { animation: false, responsive: true, indexAxis: data.byDim.labels.length > 8 ? "y" : "x", plugins: { legend: { display: false } } }
      });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
