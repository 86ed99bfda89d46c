import { defineScenario, task, user } from 'horde'

// trace.sample must be above 0 and at most 1: loading this scenario fails (exit 104) before any load.
export default defineScenario({
  name: 'bad-trace-sample',
  host: 'http://127.0.0.1:9',
  users: { Buyer: user({ tasks: { items: task(1, ({ http }) => http.get('/items')) } }) },
  trace: { sample: 1.5 },
})
