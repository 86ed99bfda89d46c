import { constantThroughput, defineScenario, task, user } from 'horde'

// The same load as traced.ts with no `trace`: tracing is off unless --trace / HORDE_TRACE asks for it.
export default defineScenario({
  name: 'untraced',
  host: 'http://127.0.0.1:9',
  users: {
    Buyer: user({
      wait: constantThroughput(10),
      tasks: {
        items: task(3, ({ http }) => http.get('/items?page=1', { name: '/items' })),
        fail: task(1, ({ http }) => http.get('/fail')),
      },
    }),
  },
  thresholds: {},
  stopTimeout: '2s',
})
