// Used by the exit tests: tasks that ignore the stop signal, so a worker must abandon them to exit. One awaits
// a promise that never settles while holding a timer of its own (as a hung driver would); one waits on a
// response that takes a minute (its socket must be destroyed); a normal user keeps making requests.
import { constant, defineScenario, task, user } from 'horde'

export default defineScenario({
  name: 'stuck',
  users: {
    Stuck: user({
      tasks: {
        hang: task(1, async () => {
          setInterval(() => undefined, 1000)
          await new Promise<never>(() => undefined)
        }),
      },
    }),
    SlowResponse: user({
      tasks: { slow: task(1, ({ http }) => http.get('/delay/60000')) },
    }),
    Normal: user({
      wait: constant('50ms'),
      tasks: { get: task(1, ({ http }) => http.get('/')) },
    }),
  },
})
