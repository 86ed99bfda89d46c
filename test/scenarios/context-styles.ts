// Used by the context tests: every member of the task context used destructured, as the README shows, and an
// onStart that throws.
import { defineScenario, task, user, constant } from 'horde'

export default defineScenario({
  name: 'context-styles',
  users: {
    Destructured: user<{ n: number }>({
      wait: constant('20ms'),
      state: () => ({ n: 0 }),
      tasks: {
        all: task(
          1,
          async ({
            http: { get },
            measure,
            record,
            state,
            log,
            signal,
            userClass,
            userIndex,
            workerIndex,
          }) => {
            state.n++
            if (!(signal instanceof AbortSignal) || typeof log.info !== 'function')
              throw new Error('bad context')
            record({
              type: 'custom',
              name: `record-${userClass}`,
              responseTimeMs: 5 + userIndex + workerIndex,
            })
            await measure('custom', 'measure', () => Promise.resolve('ok'))
            // The http verbs destructured too: bound to this user, as record and measure are.
            await get('/')
          },
        ),
      },
    }),
    BadStart: user({
      wait: constant('20ms'),
      onStart: () => {
        throw new Error('setup failed')
      },
      tasks: {
        never: task(1, ({ record }) =>
          record({ type: 'custom', name: 'after-bad-start', responseTimeMs: 1 }),
        ),
      },
    }),
  },
})
