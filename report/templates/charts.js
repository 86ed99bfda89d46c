/* global uPlot, document, window */
// The charts of the report and of the live dashboard: one implementation. window.HordeCharts(data) draws them
// from ChartData (report/chart-data.ts) into the #chart-* elements of the shared charts partial and returns
// { update(data) } for the dashboard's live data. Run text only ever reaches canvas (never markup).
;(function () {
  'use strict'
  window.HordeCharts = function (initial) {
    var data = initial
    var charts = []
    var COLORS = {
      rps: '#0969da',
      fail: '#cf222e',
      p50: '#1a7f37',
      p95: '#bf8700',
      p99: '#cf222e',
      users: '#8250df',
      workers: '#57606a',
      target: '#1f2328',
      cdf: '#0969da',
      base: '#8c959f',
    }
    // Ticks at round elapsed times: 10 s, 30 s, 1 min, 5 min, ... rather than uPlot's decimal steps.
    var TIME_INCRS = [
      1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    ]
    // Marker colours by style; each event's style comes with the data (report/event-style.ts is the one table).
    var MARKER = { bad: '#cf222e', good: '#1a7f37', warn: '#bf8700', info: '#8250df' }

    function pad(n) {
      return n < 10 ? '0' + n : String(n)
    }
    function offset(s) {
      s = Math.max(0, Math.round(s))
      var h = Math.floor(s / 3600)
      var m = Math.floor((s % 3600) / 60)
      return (h > 0 ? h + ':' + pad(m) : String(m)) + ':' + pad(s % 60)
    }
    function clock(s) {
      return new Date(data.startMs + s * 1000).toISOString().slice(11, 19)
    }
    function num(v, digits) {
      if (v === null || v === undefined) return '—'
      return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits === undefined ? 1 : digits)
    }
    function ms(v) {
      if (v === null || v === undefined) return '—'
      return v >= 1000 ? (v / 1000).toFixed(2) + ' s' : num(v) + ' ms'
    }

    // Warm-up shading under the series, event markers over them.
    function overlays() {
      var dpr = window.devicePixelRatio || 1
      return {
        hooks: {
          drawClear: [
            function (u) {
              var ctx = u.ctx
              var b = u.bbox
              ctx.save()
              ctx.fillStyle = 'rgba(154, 103, 0, 0.10)'
              data.warmup.forEach(function (w) {
                var x0 = Math.max(b.left, u.valToPos(w[0], 'x', true))
                var x1 = Math.min(b.left + b.width, u.valToPos(w[1], 'x', true))
                if (x1 > x0) ctx.fillRect(x0, b.top, x1 - x0, b.height)
              })
              ctx.restore()
            },
          ],
          draw: [
            function (u) {
              var ctx = u.ctx
              var b = u.bbox
              var lastLabelEnd = -Infinity
              ctx.save()
              ctx.font = 10 * dpr + 'px sans-serif'
              ctx.textBaseline = 'top'
              data.events.forEach(function (e) {
                var x = Math.round(u.valToPos(e.t, 'x', true))
                if (x < b.left || x > b.left + b.width) return
                var color = MARKER[e.cls] || MARKER.info
                ctx.strokeStyle = color
                ctx.lineWidth = 1.5 * dpr
                ctx.setLineDash([4 * dpr, 3 * dpr])
                ctx.beginPath()
                ctx.moveTo(x, b.top)
                ctx.lineTo(x, b.top + b.height)
                ctx.stroke()
                var label = e.kind
                var w = ctx.measureText(label).width
                if (x + 3 * dpr > lastLabelEnd && x + w + 6 * dpr < b.left + b.width) {
                  ctx.fillStyle = 'rgba(255,255,255,0.85)'
                  ctx.fillRect(x + 2 * dpr, b.top + 2 * dpr, w + 4 * dpr, 12 * dpr)
                  ctx.fillStyle = color
                  ctx.fillText(label, x + 4 * dpr, b.top + 3 * dpr)
                  lastLabelEnd = x + w + 10 * dpr
                }
              })
              ctx.restore()
            },
          ],
        },
      }
    }

    function width(el) {
      return Math.max(320, el.clientWidth || 600)
    }

    // A chart is made once its data exists (a live run starts empty) and then only given new columns.
    function draw(spec) {
      if (spec.plot) {
        spec.plot.setData(spec.columns(data))
        return
      }
      if (!spec.ready(data)) {
        spec.el.textContent = spec.empty
        return
      }
      spec.el.textContent = ''
      spec.plot = new uPlot(spec.opts(), spec.columns(data), spec.el)
    }

    function timeChart(id, series, axes, scales) {
      var el = document.getElementById(id)
      if (!el) return
      var spec = {
        el: el,
        plot: null,
        empty: 'No data points were recorded.',
        ready: function (d) {
          return (
            d.t.length > 0 &&
            series.every(function (s) {
              return s.values(d) !== null
            })
          )
        },
        columns: function (d) {
          return [d.t].concat(
            series.map(function (s) {
              return s.values(d)
            }),
          )
        },
        opts: function () {
          return {
            width: width(el),
            height: 240,
            cursor: { drag: { x: true, y: false } },
            scales: Object.assign({ x: { time: false } }, scales || {}),
            series: [
              {
                label: 'time',
                value: function (u, v) {
                  return v === null || v === undefined ? '' : '+' + offset(v) + ' (' + clock(v) + ' UTC)'
                },
              },
            ].concat(
              series.map(function (s) {
                return Object.assign({ width: 1.6, points: { show: false }, spanGaps: false }, s.opts)
              }),
            ),
            axes: [
              {
                values: function (u, splits) {
                  return splits.map(offset)
                },
                incrs: TIME_INCRS,
                space: 70,
                grid: { stroke: '#eaeef2' },
              },
            ].concat(axes),
            plugins: [overlays()],
          }
        },
      }
      charts.push(spec)
      draw(spec)
    }

    var yAxis = function (label, scale, side, fmt) {
      return {
        label: label,
        scale: scale,
        side: side || 3,
        size: 60,
        grid: { show: side !== 1, stroke: '#eaeef2' },
        values: fmt
          ? function (u, splits) {
              return splits.map(fmt)
            }
          : undefined,
      }
    }

    timeChart(
      'chart-rps',
      [
        {
          opts: {
            label: 'requests/s',
            stroke: COLORS.rps,
            fill: 'rgba(9,105,218,0.08)',
            scale: 'rps',
            value: function (u, v) {
              return num(v)
            },
          },
          values: function (d) {
            return d.rps
          },
        },
        {
          opts: {
            label: 'failures/s',
            stroke: COLORS.fail,
            scale: 'fail',
            value: function (u, v) {
              return num(v, 2)
            },
          },
          values: function (d) {
            return d.fps
          },
        },
      ],
      [yAxis('req/s', 'rps'), yAxis('failures/s', 'fail', 1)],
      {
        rps: {
          range: function (u, min, max) {
            return [0, Math.max(1, max * 1.1)]
          },
        },
        fail: {
          range: function (u, min, max) {
            return [0, Math.max(1, max * 1.2)]
          },
        },
      },
    )
    timeChart(
      'chart-latency',
      [
        {
          opts: {
            label: 'p50',
            stroke: COLORS.p50,
            scale: 'ms',
            value: function (u, v) {
              return ms(v)
            },
          },
          values: function (d) {
            return d.p50
          },
        },
        {
          opts: {
            label: 'p95',
            stroke: COLORS.p95,
            scale: 'ms',
            value: function (u, v) {
              return ms(v)
            },
          },
          values: function (d) {
            return d.p95
          },
        },
        {
          opts: {
            label: 'p99',
            stroke: COLORS.p99,
            scale: 'ms',
            value: function (u, v) {
              return ms(v)
            },
          },
          values: function (d) {
            return d.p99
          },
        },
      ],
      [yAxis('ms', 'ms')],
      {
        ms: {
          range: function (u, min, max) {
            return [0, Math.max(1, max * 1.1)]
          },
        },
      },
    )
    timeChart(
      'chart-users',
      [
        {
          opts: {
            label: 'users',
            stroke: COLORS.users,
            fill: 'rgba(130,80,223,0.07)',
            scale: 'users',
            paths: uPlot.paths.stepped({ align: 1 }),
          },
          values: function (d) {
            return d.users
          },
        },
        {
          opts: {
            label: 'workers',
            stroke: COLORS.workers,
            scale: 'workers',
            dash: [5, 3],
            paths: uPlot.paths.stepped({ align: 1 }),
          },
          values: function (d) {
            return d.workers
          },
        },
      ],
      [yAxis('users', 'users'), yAxis('workers', 'workers', 1)],
      {
        users: {
          range: function (u, min, max) {
            return [0, Math.max(1, max * 1.1)]
          },
        },
        workers: {
          range: function (u, min, max) {
            return [0, Math.max(1, max + 1)]
          },
        },
      },
    )
    {
      timeChart(
        'chart-open',
        [
          {
            opts: { label: 'target req/s', stroke: COLORS.target, dash: [6, 4], scale: 'rps' },
            values: function (d) {
              return d.target
            },
          },
          {
            opts: { label: 'achieved req/s', stroke: COLORS.rps, scale: 'rps' },
            values: function (d) {
              return d.rps
            },
          },
          {
            opts: { label: 'dropped/s', stroke: COLORS.fail, fill: 'rgba(207,34,46,0.08)', scale: 'drop' },
            values: function (d) {
              return d.dropped
            },
          },
        ],
        [yAxis('req/s', 'rps'), yAxis('dropped/s', 'drop', 1)],
        {
          rps: {
            range: function (u, min, max) {
              return [0, Math.max(1, max * 1.1)]
            },
          },
          drop: {
            range: function (u, min, max) {
              return [0, Math.max(1, max * 1.2)]
            },
          },
        },
      )
    }

    // Database runs: tps per transaction type (report/db-summary.ts picks the busiest few). The names are run
    // text: they only reach uPlot's legend, which sets them as text.
    if (data.tx) {
      var TX_PALETTE = [
        '#0969da',
        '#bf8700',
        '#1a7f37',
        '#8250df',
        '#cf222e',
        '#57606a',
        '#bc4c00',
        '#1b7c83',
      ]
      timeChart(
        'chart-tx',
        data.tx.names.map(function (name, i) {
          return {
            opts: {
              label: name,
              stroke: TX_PALETTE[i % TX_PALETTE.length],
              scale: 'tps',
              value: function (u, v) {
                return num(v)
              },
            },
            values: function (d) {
              return d.tx ? d.tx.tps[i] || null : null
            },
          }
        }),
        [yAxis('tps', 'tps')],
        {
          tps: {
            range: function (u, min, max) {
              return [0, Math.max(1, max * 1.1)]
            },
          },
        },
      )
    }

    ;(function distribution() {
      var el = document.getElementById('chart-dist')
      if (!el) return
      var series = [
        {
          label: 'response time',
          value: function (u, v) {
            return v === null || v === undefined ? '' : '≤ ' + ms(v)
          },
        },
        {
          label: 'share of requests',
          stroke: COLORS.rps,
          fill: 'rgba(9,105,218,0.18)',
          width: 1.2,
          scale: 'share',
          paths: uPlot.paths.stepped({ align: -1 }),
          points: { show: false },
          value: function (u, v) {
            return num(v, 2) + ' %'
          },
        },
        {
          label: 'cumulative',
          stroke: COLORS.p99,
          width: 1.6,
          scale: 'cdf',
          points: { show: false },
          value: function (u, v) {
            return num(v, 2) + ' %'
          },
        },
      ]
      // The baseline is known when the chart is made (a report); a live run has none.
      var withBaseline = Boolean(data.baselineHist)
      if (withBaseline) {
        series.push({
          label: 'baseline cumulative',
          stroke: COLORS.base,
          dash: [5, 4],
          width: 1.4,
          scale: 'cdf',
          points: { show: false },
          value: function (u, v) {
            return num(v, 2) + ' %'
          },
        })
      }
      var spec = {
        el: el,
        plot: null,
        empty: 'No response times were recorded.',
        ready: function (d) {
          return Boolean(d.hist)
        },
        columns: function (d) {
          var h = d.hist
          var columns = [h.x, h.share, h.cdf]
          if (withBaseline)
            columns.push(
              d.baselineHist
                ? d.baselineHist.cdf
                : h.x.map(function () {
                    return null
                  }),
            )
          return columns
        },
        opts: function () {
          return {
            width: width(el),
            height: 240,
            scales: {
              x: { time: false, distr: 3 },
              share: {
                range: function (u, min, max) {
                  return [0, Math.max(1, max * 1.15)]
                },
              },
              cdf: { range: [0, 100] },
            },
            series: series,
            axes: [
              {
                // Log axis: label only 1-2-5 steps, leave the other grid lines unlabelled.
                values: function (u, splits) {
                  return splits.map(function (v) {
                    if (v === null || v === undefined) return ''
                    var lead = Number(String(v.toExponential(0)).charAt(0))
                    if (lead !== 1 && lead !== 2 && lead !== 5) return ''
                    return v >= 1000 ? v / 1000 + ' s' : v + ' ms'
                  })
                },
                space: 24,
                grid: { stroke: '#f0f2f4' },
              },
              yAxis('% of requests', 'share', 3, function (v) {
                return v + ' %'
              }),
              yAxis('cumulative', 'cdf', 1, function (v) {
                return v + ' %'
              }),
            ],
          }
        },
      }
      charts.push(spec)
      draw(spec)
    })()

    var resizeTimer = null
    window.addEventListener('resize', function () {
      if (resizeTimer) window.clearTimeout(resizeTimer)
      resizeTimer = window.setTimeout(function () {
        charts.forEach(function (c) {
          if (c.plot) c.plot.setSize({ width: width(c.el), height: 240 })
        })
      }, 100)
    })

    return {
      update: function (next) {
        data = next
        charts.forEach(draw)
      },
      /** Charts on the page that have been drawn. */
      drawn: function () {
        return charts.filter(function (c) {
          return c.plot !== null
        }).length
      },
    }
  }
})()
