import { defineScenario, user, task, constantPacing } from 'horde'

/** How many endpoint names one user cycles through (issue 9: the master's merge cost grows with them). */
export const ENDPOINTS = 50
let next = 0

export default defineScenario({
  name: 'many-endpoints',
  host: 'http://127.0.0.1:9',
  users: {
    // Named Voter like the other test scenarios, so testPlan()'s user class matches.
    Voter: user({
      weight: 1,
      // ~30 requests/s per user, as in the 16-worker run.
      wait: constantPacing('33ms'),
      tasks: {
        endpoint: task(1, ({ http }) => http.get('/results', { name: `/endpoint/${next++ % ENDPOINTS}` })),
      },
    }),
  },
  stopTimeout: '2s',
})
