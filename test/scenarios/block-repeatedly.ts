// Used by the saturation test: worker 0's user blocks its event loop for HORDE_TEST_BLOCK_MS, then works
// normally for HORDE_TEST_BLOCK_GAP_MS, and again (like a synchronous driver stalling on slow queries).
// Other workers only make ordinary requests.
import { constant, defineScenario, task, user } from 'horde'

const blockMs = Number(process.env.HORDE_TEST_BLOCK_MS ?? '1600')
const gapMs = Number(process.env.HORDE_TEST_BLOCK_GAP_MS ?? '4000')

export default defineScenario({
  name: 'block-repeatedly',
  users: {
    Blocker: user<{ lastBlockEndMs: number }>({
      wait: constant('100ms'),
      state: () => ({ lastBlockEndMs: 0 }),
      tasks: {
        work: task(1, async ({ http, state, workerIndex }) => {
          if (workerIndex === 0 && Date.now() - state.lastBlockEndMs >= gapMs) {
            const until = Date.now() + blockMs
            while (Date.now() < until) {
              // busy: nothing else on this worker runs meanwhile
            }
            state.lastBlockEndMs = Date.now()
          }
          await http.get('/results')
        }),
      },
    }),
  },
})
