/* global document, window */
// Sortable and filterable tables, shared by the report, the history indexes and the live dashboard (inlined
// before each page's own script): numbers sort on data-v (the raw value), text on the cell's text; an
// <input data-filter="table-id"> hides the rows without its text. window.HordeTables(root) wires the tables
// under root (the dashboard calls it again for sections it re-rendered); it runs once on the document.
;(function () {
  'use strict'
  function sortable(table) {
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
  }
  function filterable(input) {
    var table = document.getElementById(input.getAttribute('data-filter'))
    if (!table) return
    var apply = function () {
      var q = input.value.toLowerCase()
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) < 0
      })
    }
    input.addEventListener('input', apply)
    apply()
  }
  window.HordeTables = function (root) {
    Array.prototype.forEach.call(root.querySelectorAll('table.sortable'), sortable)
    Array.prototype.forEach.call(root.querySelectorAll('input[data-filter]'), filterable)
  }
  window.HordeTables(document)
})()
