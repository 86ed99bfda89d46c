/* global document, window */
// Draws the report's charts (charts.js) from the inline JSON; table-sort.js wires the tables. Runs from a file:// page with
// a CSP of default-src 'none': no network, no eval, and run text only ever goes into textContent or canvas.
;(function () {
  'use strict'
  var data = JSON.parse(document.getElementById('horde-data').textContent)
  var charts = window.HordeCharts(data)

  document.body.setAttribute('data-charts', String(charts.drawn()))
  document.body.setAttribute('data-ready', '1')
})()
