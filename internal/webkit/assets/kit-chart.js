// cashgate's chart over a table of figures: every <figure class="kit-chart"
// data-chart="…"> gets a uPlot chart (uplot.iife.min.js, loaded before this
// file). data-chart is JSON: {"x": [Unix seconds…], "series": [{"label",
// "values": [integers…], "decimals": n (values are divided by 10^n),
// "axis": "left"|"right", "bars": true for bars instead of a line}]}. The figures stay in the page's table; the
// chart is hidden from assistive technology (aria-hidden on the figure).
(function () {
  "use strict";
  var colours = ["#3c78d8", "#b02a37"];

  function draw(fig) {
    var data;
    try { data = JSON.parse(fig.getAttribute("data-chart")); } catch (e) { return; }
    if (!data || !data.x || !data.series) { return; }
    var cols = [data.x];
    var series = [{}];
    var axes = [{}];
    data.series.forEach(function (s, i) {
      var scale = s.axis === "right" ? "right" : "left";
      var div = Math.pow(10, s.decimals || 0);
      cols.push(s.values.map(function (v) { return v / div; }));
      var colour = colours[i % colours.length];
      var one = { label: s.label, scale: scale, stroke: colour, width: 2, points: { show: false } };
      if (s.bars && uPlot.paths && uPlot.paths.bars) {
        one.paths = uPlot.paths.bars({ size: [0.5, 24] });
        one.fill = colour;
        one.width = 0;
      } else {
        one.fill = "rgba(60,120,216,0.12)";
      }
      series.push(one);
      axes.push({ scale: scale, side: scale === "right" ? 1 : 3, grid: { show: scale === "left" },
        label: s.label, size: 56, incrs: scale === "right" ? [1, 2, 5, 10, 20, 50, 100, 1000] : undefined });
    });
    var opts = {
      width: Math.max(280, fig.clientWidth),
      height: 260,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true }, left: { range: function (u, lo, hi) { return [0, Math.max(1, hi)]; } },
        right: { range: function (u, lo, hi) { return [0, Math.max(4, Math.ceil(hi * 1.25))]; } } },
      series: series,
      axes: axes
    };
    var chart = new uPlot(opts, cols, fig);
    var key = document.createElement("p");
    key.className = "kit-chart-key";
    data.series.forEach(function (s, i) {
      var item = document.createElement("span");
      var swatch = document.createElement("span");
      swatch.className = "kit-chart-swatch kit-chart-swatch-" + i;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(" " + s.label + (s.axis === "right" ? " (right axis)" : " (left axis)")));
      key.appendChild(item);
    });
    fig.appendChild(key);
    window.addEventListener("resize", function () {
      chart.setSize({ width: Math.max(280, fig.clientWidth), height: 260 });
    });
  }

  function start() {
    if (typeof uPlot === "undefined") { return; }
    var figs = document.querySelectorAll("figure.kit-chart[data-chart]");
    for (var i = 0; i < figs.length; i++) { draw(figs[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
