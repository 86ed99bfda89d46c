// Used by the Locust interop tests: class names match test/scenarios/interop_locustfile.py.
import { constant, defineScenario, task, user } from 'horde'

export default defineScenario({
  name: 'interop',
  users: {
    Browser: user({
      weight: 3,
      wait: constant('100ms'),
      tasks: {
        slow: task(1, ({ http }) => http.get('/delay/50')),
        ok: task(1, ({ http }) => http.get('/ok')),
      },
    }),
    Breaker: user({
      weight: 1,
      wait: constant('100ms'),
      tasks: { fail: task(1, ({ http }) => http.get('/fail')) },
    }),
  },
})
