import { defineScenario, task, user } from 'horde'
export default defineScenario({
  name: 'bench-open-small-capped',
  host: 'http://127.0.0.1:18080',
  http: { connections: 64 },
  users: { Arrival: user({ tasks: { small: task(1, ({ http }) => http.get('/small')) } }) },
})
