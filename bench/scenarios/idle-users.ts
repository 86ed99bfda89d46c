// Memory benchmark: users that only wait (Locust's "idle user" figure: ~9.5 KB each).
import { constant, defineScenario, task, user } from 'horde'

export default defineScenario({
  name: 'bench-idle-users',
  host: 'http://127.0.0.1:18080',
  users: {
    Sleeper: user({ wait: constant('1h'), tasks: { nothing: task(1, () => undefined) } }),
  },
})
