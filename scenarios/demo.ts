/**
 * The demo scenario `npm run demo` runs against the bundled vote app (src/cli/demo-target.ts): voters read the
 * results and vote, watchers only refresh the results. Copy it as a starting point for an HTTP API test.
 */
import { defineScenario, user, task, between, constant } from 'horde'

export default defineScenario({
  name: 'vote-demo',
  // The demo passes --host with the port the vote app got; a real test names its target here.
  host: 'http://127.0.0.1:8080',
  http: {
    // Keep-alive on: measures the service as browsers and SDKs use it (one socket per user, reused).
    keepAlive: true,
    // Per-request timeout: a slow answer past this is a failure, not a long sample.
    timeout: '10s',
  },
  users: {
    Voter: user({
      weight: 3,
      wait: between('100ms', '300ms'),
      tasks: {
        results: task(1, ({ http }) => http.get('/results')),
        vote: task(2, ({ http }) => http.post('/vote', { form: { vote: Math.random() < 0.5 ? 'a' : 'b' } })),
      },
    }),
    Watcher: user({
      weight: 1,
      wait: constant('250ms'),
      tasks: { refresh: task(1, ({ http }) => http.get('/results')) },
    }),
  },
  thresholds: {
    'http_req_duration{name:/results}': ['p(95)<500'],
    http_req_duration: ['p(99)<1000', 'avg<300'],
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }],
  },
  // Users get this long to finish their request when the run ends, so every request sent is counted.
  stopTimeout: '2s',
})
