// Used by the saturation test: a task that blocks the event loop, like a synchronous DB driver would.
import { constant, defineScenario, task, user } from 'horde'

export default defineScenario({
  name: 'blocking',
  users: {
    Blocker: user({
      wait: constant('100ms'),
      tasks: {
        block: task(1, () => {
          const until = Date.now() + 400
          while (Date.now() < until) {
            // busy: nothing else on this worker runs meanwhile
          }
        }),
      },
    }),
  },
})
