// Used by the orphan-load tests: the first task of the process blocks the event loop (as a synchronous DB
// driver would) for HORDE_TEST_BLOCK_MS; every task makes one request, so the target sees any load that
// survives the worker giving up on its master.
import { constant, defineScenario, task, user } from 'horde'

const blockMs = Number(process.env.HORDE_TEST_BLOCK_MS ?? '10000')
let blocked = false

export default defineScenario({
  name: 'block-once',
  users: {
    Blocker: user({
      wait: constant('20ms'),
      tasks: {
        get: task(1, async ({ http }) => {
          await http.get('/')
          if (blocked) return
          blocked = true
          const until = Date.now() + blockMs
          while (Date.now() < until) {
            // busy: the worker's timers, heartbeats and socket all wait
          }
        }),
      },
    }),
  },
})
