/* global document */
// Sortable tables, shared by the report and the history indexes (inlined before each page's own script):
// numbers sort on data-v (the raw value), text on the cell's text.
;(function () {
  'use strict'
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    var heads = table.tHead.rows[0].cells
    Array.prototype.forEach.call(heads, function (th) {
      if (th.classList.contains('nosort')) return
      th.tabIndex = 0
      var sort = function () {
        var numeric = th.getAttribute('data-type') === 'num'
        var asc = th.getAttribute('aria-sort') === 'descending' || (!th.hasAttribute('aria-sort') && !numeric)
        Array.prototype.forEach.call(heads, function (h) {
          h.removeAttribute('aria-sort')
        })
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending')
        var i = th.cellIndex
        var body = table.tBodies[0]
        var rows = Array.prototype.slice.call(body.rows)
        rows.sort(function (a, b) {
          var x = a.cells[i]
          var y = b.cells[i]
          var r = numeric
            ? Number(x.getAttribute('data-v')) - Number(y.getAttribute('data-v'))
            : x.textContent.localeCompare(y.textContent)
          return asc ? r : -r
        })
        rows.forEach(function (r) {
          body.appendChild(r)
        })
      }
      th.addEventListener('click', sort)
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter') sort()
      })
    })
  })
})()
