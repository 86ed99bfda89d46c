// Closed-model throughput benchmark: every user requests /small back to back (no think time).
import { constant, defineScenario, task, user } from 'horde'

export default defineScenario({
  name: 'bench-closed-small',
  host: 'http://127.0.0.1:18080',
  users: {
    Hammer: user({ wait: constant(0), tasks: { small: task(1, ({ http }) => http.get('/small')) } }),
  },
})
