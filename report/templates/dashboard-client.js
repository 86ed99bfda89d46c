/* global document, window */
// The live dashboard: asks dashboard/data for what changed since the version it shows (relative URLs only, so
// the page works behind a path prefix such as the Kubernetes API server's service proxy). The master holds
// the request until its next version (about once a second) and answers with the new seconds of the chart and
// the sections whose HTML changed, or the whole state when this page is too far behind; a response that is not
// based on what the page shows is dropped and asked again. The chart goes to the shared charts (charts.js);
// the sections the server rendered from the report's own templates (run text arrives escaped by Handlebars)
// are swapped in. The buttons call the control API with the token a person typed, kept in sessionStorage for
// this tab only.
;(function () {
  'use strict'
  var TOKEN_KEY = 'horde-control-token'
  var POLL_MS = 1000
  /** A poll that hangs longer than this (a proxy lost it) is given up and asked again. */
  var POLL_TIMEOUT_MS = 15000
  /** Never ask more often than this, whatever the server answers. */
  var MIN_POLL_GAP_MS = 250
  var COLUMNS = ['t', 'rps', 'fps', 'p50', 'p95', 'p99', 'users', 'workers', 'target', 'dropped']
  var initial = JSON.parse(document.getElementById('horde-data').textContent)
  var charts = window.HordeCharts(initial.chart)
  // What the page shows: the master's version, and the whole chart (deltas are merged into it).
  var state = { version: null, chart: initial.chart }
  // For people in devtools and for the tests: what the page shows, read-only.
  window.hordeDashboard = {
    version: function () {
      return state.version
    },
    chart: function () {
      return state.chart
    },
  }
  var updates = 0
  var failures = 0
  var body = document.body
  var connection = document.getElementById('connection')
  var message = document.getElementById('control-message')

  function say(text, status) {
    message.textContent = text
    message.setAttribute('data-status', String(status))
    message.className = status >= 400 || status === 0 ? 'bad' : 'muted'
  }

  // What a person set on a table (sort column and direction, filter text) survives the section's re-render.
  function tableState(section) {
    var state = { sorts: [], filters: [] }
    Array.prototype.forEach.call(section.querySelectorAll('th[aria-sort]'), function (th) {
      var table = th.closest('table')
      state.sorts.push({ table: table.id, cell: th.cellIndex, dir: th.getAttribute('aria-sort') })
    })
    Array.prototype.forEach.call(section.querySelectorAll('input[data-filter]'), function (input) {
      state.filters.push({
        target: input.getAttribute('data-filter'),
        value: input.value,
        focused: input === document.activeElement,
      })
    })
    return state
  }
  function restore(section, state) {
    state.filters.forEach(function (f) {
      var input = section.querySelector('input[data-filter="' + f.target + '"]')
      if (!input) return
      input.value = f.value
      input.dispatchEvent(new window.Event('input'))
      if (f.focused) input.focus()
    })
    state.sorts.forEach(function (s) {
      var table = s.table ? document.getElementById(s.table) : section.querySelector('table.sortable')
      var th = table && table.tHead && table.tHead.rows[0].cells[s.cell]
      if (!th) return
      th.click()
      if (th.getAttribute('aria-sort') !== s.dir) th.click()
    })
  }

  /** The chart after a delta: each column cut where the delta starts, then extended; other fields replaced. */
  function mergeChart(chart, delta) {
    var next = {}
    Object.keys(chart).forEach(function (key) {
      next[key] = chart[key]
    })
    COLUMNS.forEach(function (name) {
      if (!(name in delta.columns)) return
      var tail = delta.columns[name]
      next[name] = tail === null ? null : (chart[name] || []).slice(0, delta.from).concat(tail)
    })
    Object.keys(delta.fields).forEach(function (key) {
      next[key] = delta.fields[key]
    })
    return next
  }

  function apply(data) {
    state.chart = data.base === null ? data.chart : mergeChart(state.chart, data.chart)
    state.version = data.v
    charts.update(state.chart)
    Object.keys(data.sections).forEach(function (name) {
      var section = document.querySelector('[data-section="' + name + '"]')
      if (!section) return
      var state = tableState(section)
      section.innerHTML = data.sections[name]
      window.HordeTables(section)
      restore(section, state)
    })
    updates += 1
    body.setAttribute('data-updates', String(updates))
    body.setAttribute('data-phase', data.status.phase)
    body.setAttribute('data-charts', String(charts.drawn()))
    body.setAttribute('data-points', String(state.chart.t.length))
    body.setAttribute('data-version', state.version)
  }

  function poll() {
    var started = Date.now()
    var url =
      'dashboard/data' + (state.version ? '?since=' + encodeURIComponent(state.version) + '&wait=1' : '')
    var abort = new window.AbortController()
    var timer = window.setTimeout(function () {
      abort.abort()
    }, POLL_TIMEOUT_MS)
    fetch(url, { cache: 'no-store', credentials: 'omit', signal: abort.signal })
      .then(function (res) {
        if (res.status === 304) return null
        if (!res.ok) throw new Error('HTTP ' + res.status)
        return res.json()
      })
      .then(function (data) {
        failures = 0
        // A late or stray answer based on something this page no longer shows: ask again from here.
        if (data !== null && (data.base === null || data.base === state.version)) apply(data)
        connection.textContent = 'live'
        connection.className = 'good'
      })
      .catch(function () {
        failures += 1
        connection.textContent =
          failures > 2
            ? 'the master is not answering: the run has probably ended (its report is in the output folder)'
            : 'reconnecting…'
        connection.className = 'bad'
      })
      .then(function () {
        window.clearTimeout(timer)
        var wait =
          failures === 0 ? MIN_POLL_GAP_MS - (Date.now() - started) : failures > 2 ? POLL_MS * 3 : POLL_MS
        window.setTimeout(poll, Math.max(0, wait))
      })
  }

  function call(path, payload) {
    var headers = { 'content-type': 'application/json' }
    var token = sessionStorage.getItem(TOKEN_KEY)
    if (token) headers.authorization = 'Bearer ' + token
    say('sending ' + path + '…', 102)
    return fetch(path, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(payload || {}),
      cache: 'no-store',
      credentials: 'omit',
    })
      .then(function (res) {
        return res
          .json()
          .catch(function () {
            return {}
          })
          .then(function (answer) {
            if (res.status === 401) {
              say('Refused (401): this master needs its control token. Enter it above and try again.', 401)
            } else if (!res.ok) {
              say('Refused (' + res.status + '): ' + (answer.error || 'no reason given'), res.status)
            } else {
              say(path + ': done (' + res.status + ')', res.status)
            }
          })
      })
      .catch(function (error) {
        say(path + ' failed: ' + error.message, 0)
      })
  }

  document.getElementById('btn-pause').addEventListener('click', function () {
    call('pause')
  })
  document.getElementById('btn-resume').addEventListener('click', function () {
    call('resume')
  })
  document.getElementById('btn-stop').addEventListener('click', function () {
    call('stop', { reason: 'stopped from the live dashboard' })
  })
  document.getElementById('btn-target').addEventListener('click', function () {
    var value = Number(document.getElementById('target-value').value)
    var kind = document.getElementById('target-kind').value
    if (!(value >= 0) || document.getElementById('target-value').value === '') {
      say('Enter a number of users or requests per second first.', 400)
      return Promise.resolve()
    }
    var payload = {}
    payload[kind === 'rps' ? 'rps' : 'users'] = value
    return call('target', payload)
  })
  document.getElementById('token-form').addEventListener('submit', function (event) {
    event.preventDefault()
    var input = document.getElementById('token')
    if (input.value === '') sessionStorage.removeItem(TOKEN_KEY)
    else sessionStorage.setItem(TOKEN_KEY, input.value)
    input.value = ''
    say(
      sessionStorage.getItem(TOKEN_KEY) ? 'Token kept for this tab: the buttons are live.' : 'Token cleared.',
      200,
    )
  })

  body.setAttribute('data-phase', initial.status.phase)
  body.setAttribute('data-charts', String(charts.drawn()))
  body.setAttribute('data-ready', '1')
  window.setTimeout(poll, POLL_MS)
})()
