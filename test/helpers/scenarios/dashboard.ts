// The live-dashboard tests: steady small load on /ok under an endpoint name full of markup, which the page must
// show as text.
import { defineScenario, task, user, constant } from 'horde'

export const MARKUP_NAME = '/ok <img src=x onerror="window.__pwned=1"><b>bold</b>'

export default defineScenario({
  name: 'dashboard-live',
  host: 'http://127.0.0.1:9',
  users: {
    Poller: user({
      wait: constant('50ms'),
      tasks: { ok: task(1, ({ http }) => http.get('/ok', { name: MARKUP_NAME })) },
    }),
  },
  stopTimeout: '1s',
})
