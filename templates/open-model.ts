/**
 * Open model: stages of target request rate (RPS), whatever the service's latency.
 *
 * Start here to ask "does the service hold 200 requests per second?" rather than "what do 50 users get?".
 * Iterations start at the rate you ask for, split across workers; a slow service does not slow the
 * arrivals down (as real traffic does not), so latency is measured honestly. Copy it with
 * `horde new <name> --template open-model`, then set the stages to your traffic's shape.
 * Run it locally: `horde run scenarios/<name>.ts --users 100 --duration 1m --host http://127.0.0.1:8080`
 * (`--users` caps the iterations in flight: arrivals beyond it are counted as dropped).
 * Change the rate while it runs: `horde ctl <master-url> set --rps 300 --ramp 30s`, or the live dashboard.
 */
import { defineScenario, user, task } from 'horde'

export default defineScenario({
  name: 'open-model',
  host: 'http://127.0.0.1:8080',
  // Each stage ramps linearly from the previous rate to `rps` over `duration`: warm up, hold, peak, cool down.
  rate: [
    { duration: '10s', rps: 20 },
    { duration: '30s', rps: 20 },
    { duration: '10s', rps: 50 },
    { duration: '10s', rps: 0 },
  ],
  // A stress test that expects the service to fall behind sets this, so drops do not make the run invalid.
  dropsExpected: false,
  http: {
    keepAlive: true,
    // Cap connections per worker: at a fixed rate, more sockets than the rate needs only add set-up cost.
    connections: 64,
    // A timeout bounds how many iterations can be in flight: rate × timeout.
    timeout: '5s',
  },
  users: {
    // No `wait`: in the open model the arrival schedule decides when each iteration starts.
    Arrival: user({
      tasks: {
        // Each iteration runs one task, picked by weight.
        browse: task(4, ({ http }) => http.get('/api/items', { query: { page: 1 } })),
        item: task(1, ({ http }) =>
          http.get(`/api/items/${1 + Math.floor(Math.random() * 100)}`, { name: '/api/items/[id]' }),
        ),
      },
    }),
  },
  thresholds: {
    http_req_duration: ['p(95)<300'],
    http_req_failed: ['rate<0.01'],
  },
  warmup: '5s',
  stopTimeout: '2s',
})
