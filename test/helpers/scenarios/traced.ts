import { constantThroughput, defineScenario, task, user } from 'horde'

// Every request traced (the scenario's own setting); one endpoint that fails, for error spans.
export default defineScenario({
  name: 'traced',
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
  trace: { sample: 1 },
  stopTimeout: '2s',
})
