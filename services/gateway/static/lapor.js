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

/* Past the per-address limit the submit form carries a proof-of-work challenge (services/gateway/proof_of_work.py):
   find a solution whose SHA-256 of "<challenge>:<solution>" starts with `bits` zero bits, put "<challenge>:<solution>"
   in the hidden field, then let the visitor send. WebCrypto only; the button waits until the proof is ready. */
document.addEventListener("DOMContentLoaded", function () {
  var field = document.querySelector("input[name=proof][data-challenge]");
  if (!field || !window.crypto || !window.crypto.subtle || !window.TextEncoder) { return; }
  var form = field.form;
  var button = form.querySelector("button[type=submit]");
  var status = document.getElementById("work-status");
  var challenge = field.getAttribute("data-challenge");
  var bits = parseInt(field.getAttribute("data-bits"), 10);
  var encoder = new TextEncoder();
  var batch = 2048;

  function zeroBits(buffer) {
    var bytes = new Uint8Array(buffer), count = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { count += 8; continue; }
      for (var mask = 0x80; mask && !(bytes[i] & mask); mask >>= 1) { count++; }
      break;
    }
    return count;
  }

  function attempt(start) {
    var tries = [];
    for (var n = start; n < start + batch; n++) {
      tries.push(window.crypto.subtle.digest("SHA-256", encoder.encode(challenge + ":" + n.toString(16))));
    }
    return Promise.all(tries).then(function (digests) {
      for (var i = 0; i < digests.length; i++) {
        if (zeroBits(digests[i]) >= bits) { return (start + i).toString(16); }
      }
      return attempt(start + batch);
    });
  }

  button.disabled = true;
  status.textContent = field.getAttribute("data-busy");
  attempt(0).then(function (solution) {
    field.value = challenge + ":" + solution;
    button.disabled = false;
    status.textContent = field.getAttribute("data-ready");
  });
});
