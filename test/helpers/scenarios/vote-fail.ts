import { defineScenario } from 'horde'
import { Voter } from './vote-users.js'

export default defineScenario({
  name: 'vote-fail',
  host: 'http://127.0.0.1:9',
  users: { Voter },
  // Impossible on purpose: the run must end with verdict fail and exit code 99.
  thresholds: { 'http_req_duration{method:POST}': ['max<0.001'], http_req_failed: ['rate<0.01'] },
  stopTimeout: '2s',
})
