// Used by the worker lifecycle tests: a slow task (to observe graceful stops) and a task that throws.
import { constant, defineScenario, task, user } from 'horde'

export default defineScenario({
  name: 'lifecycle',
  users: {
    Slow: user({
      wait: constant('10ms'),
      tasks: { slow: task(1, ({ http }) => http.get('/delay/300')) },
    }),
    Thrower: user({
      wait: constant('200ms'),
      tasks: {
        explode: task(1, () => {
          throw new Error('kaboom')
        }),
      },
    }),
  },
})
