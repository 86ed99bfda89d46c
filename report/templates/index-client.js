/* global document */
// The history indexes have no script of their own beyond table sorting (table-sort.js, inlined before this):
// mark the page ready for tests and screenshots.
;(function () {
  'use strict'
  document.body.setAttribute('data-ready', '1')
})()
