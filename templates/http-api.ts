/**
 * HTTP API: weighted tasks with think time, response checks and thresholds on latency and errors.
 *
 * Start here for a REST/JSON service. Copy it with `horde new <name> --template http-api`, then:
 * - set `host` to your service (or pass --host when you run it),
 * - replace the tasks with the calls your clients really make, weighted by how often they make them,
 * - set thresholds to the service's objectives: a run that breaks them ends `fail` (exit 99).
 * Run it locally: `horde run scenarios/<name>.ts --users 20 --duration 1m --host http://127.0.0.1:8080`.
 * The endpoints below (/api/items, /api/items/<id>) are placeholders for your API.
 */
import { defineScenario, user, task, between } from 'horde'

export default defineScenario({
  name: 'http-api',
  // The service under test. --host / HORDE_HOST override it, so one file serves every environment.
  host: 'http://127.0.0.1:8080',
  http: {
    // Keep-alive on (the default, written out): one connection per user, reused, as real clients do.
    // Set false to measure TLS/TCP set-up on every request or to spread load across a load balancer.
    keepAlive: true,
    // Connections per origin per worker. null = one per concurrent request (a socket per user).
    connections: null,
    // A response slower than this is a failure, not a long sample: pick it above your p99 objective.
    timeout: '10s',
    // Sent with every request: say who is calling so the service's logs can tell load from real users.
    headers: { 'user-agent': 'horde-load-test', accept: 'application/json' },
  },
  users: {
    Reader: user({
      // Three readers for every writer: the mix the API sees in production (the key is the class name).
      weight: 3,
      // Think time between tasks. Without it each user fires as fast as the service answers, and the
      // rate becomes a function of latency; use the open-model template for a fixed rate instead.
      wait: between('500ms', '1.5s'),
      tasks: {
        // Weighted tasks: the list is read five times as often as one item.
        list: task(5, ({ http }) =>
          http.get('/api/items', {
            query: { page: 1 },
            // A 200 with the wrong body is still a failure: check what matters to your clients.
            check: (res) => Array.isArray(res.json<{ items?: unknown }>().items) || 'no items array',
          }),
        ),
        // `name` groups every id into one stats row instead of one row per URL.
        item: task(1, ({ http }) =>
          http.get(`/api/items/${1 + Math.floor(Math.random() * 100)}`, { name: '/api/items/[id]' }),
        ),
      },
    }),
    Writer: user({
      weight: 1,
      wait: between('1s', '3s'),
      tasks: {
        create: task(1, ({ http }) =>
          http.post('/api/items', {
            json: { title: 'load test item', price: 10 },
            // Creating answers 201; anything else (even a 200) is reported with the status it got.
            check: (res) => res.status === 201 || `expected 201, got ${res.status}`,
          }),
        ),
      },
    }),
  },
  thresholds: {
    // Per endpoint: the list must stay fast for 95 % of requests.
    'http_req_duration{name:/api/items}': ['p(95)<300'],
    // Every request: p99 under a second.
    http_req_duration: ['p(99)<1000'],
    // Less than 1 % errors; abortOnFail stops the run early instead of hammering a broken service.
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }],
  },
  // The first seconds (cold caches, connection set-up) are excluded from the numbers and thresholds.
  warmup: '5s',
  // Users get this long to finish their request when the run ends, so every request sent is counted.
  stopTimeout: '2s',
})
