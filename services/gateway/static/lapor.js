/* LAPOR! web: progressive enhancement only; every page works without it. Charts read their data from
   <script type="application/json" id="chart-data"> (no inline script, so the CSP forbids all of them). */
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", function () {
  var block = document.getElementById("chart-data");
  if (!block || !window.Chart) { return; }
  var charts = JSON.parse(block.textContent);
  var colours = ["#1f6feb", "#d4a017", "#2e8b57", "#c0392b", "#8e44ad", "#16a085", "#7f8c8d"];
  Object.keys(charts).forEach(function (name) {
    var canvas = document.getElementById("chart-" + name);
    var chart = charts[name];
    if (!canvas || !chart.values.length) { return; }
    new window.Chart(canvas, {
      type: chart.kind,
      data: { labels: chart.labels, datasets: [{ label: chart.title, data: chart.values,
        backgroundColor: chart.kind === "doughnut" ? colours : colours[0], borderColor: colours[0] }] },
      options: { responsive: true, maintainAspectRatio: true, animation: false,
        plugins: { legend: { display: chart.kind === "doughnut" } } }
    });
  });
});
