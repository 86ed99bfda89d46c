// Used by the many-users test: each user holds a request open for a while, so every user wants a connection
// at the same time, as 30,000 users starting together do.
import { constant, defineScenario, task, user } from 'horde'

export default defineScenario({
  name: 'many-users',
  users: {
    Holder: user({
      wait: constant('10ms'),
      tasks: { hold: task(1, ({ http }) => http.get('/delay/200')) },
    }),
  },
})
