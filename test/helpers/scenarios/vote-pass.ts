import { defineScenario } from 'horde'
import { Voter } from './vote-users.js'

export default defineScenario({
  name: 'vote-pass',
  host: 'http://127.0.0.1:9',
  users: { Voter },
  thresholds: {
    'http_req_duration{name:/results}': ['p(95)<2000'],
    http_req_failed: ['rate<0.01'],
    http_reqs: ['count>20'],
  },
  stopTimeout: '2s',
})
