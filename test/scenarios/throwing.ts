// Used by the console test: every task makes a request, then throws (a bug in the scenario, not the target).
import { constant, defineScenario, task, user } from 'horde'

export default defineScenario({
  name: 'throwing',
  users: {
    Buggy: user({
      wait: constant('100ms'),
      tasks: {
        buggy: task(1, async ({ http }) => {
          await http.get('/results')
          throw new Error('boom from the task')
        }),
      },
    }),
  },
})
