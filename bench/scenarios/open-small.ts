// Open-model benchmark: one GET /small per iteration, at the rate the harness asks for.
import { defineScenario, task, user } from 'horde'

export default defineScenario({
  name: 'bench-open-small',
  host: 'http://127.0.0.1:18080',
  users: { Arrival: user({ tasks: { small: task(1, ({ http }) => http.get('/small')) } }) },
})
