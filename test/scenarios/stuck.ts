// Used by the exit tests: a task that never settles and ignores the stop signal, holding a timer of its own
// (as a hung driver would), plus a normal user, so a worker must abandon the stuck one to exit.
import { constant, defineScenario, task, user } from 'horde'

export default defineScenario({
  name: 'stuck',
  users: {
    Stuck: user({
      tasks: {
        hang: task(1, async ({ http }) => {
          await http.get('/')
          setInterval(() => undefined, 1000)
          await new Promise<never>(() => undefined)
        }),
      },
    }),
    Normal: user({
      wait: constant('50ms'),
      tasks: { get: task(1, ({ http }) => http.get('/')) },
    }),
  },
})
