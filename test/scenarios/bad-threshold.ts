import { defineScenario, task, user } from 'horde'

// A typo in a threshold: `horde inspect` must refuse it exactly as `horde run` does (test/cli/inspect-thresholds).
export default defineScenario({
  name: 'bad-threshold',
  host: 'http://127.0.0.1:9',
  users: { Visitor: user({ tasks: { home: task(1, ({ http }) => http.get('/')) } }) },
  thresholds: { http_req_duration: ['p(95)<<400'] },
})
