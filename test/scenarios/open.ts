// Used by the open-model tests: one request per iteration, to a path the test chooses through HORDE_TEST_PATH.
import { defineScenario, task, user } from 'horde'

const path = process.env.HORDE_TEST_PATH ?? '/ok'

export default defineScenario({
  name: 'open',
  users: {
    Arrival: user({ tasks: { hit: task(1, ({ http }) => http.get(path, { name: 'hit' })) } }),
  },
})
