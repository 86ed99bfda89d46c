import { defineScenario } from 'horde'
import { Voter } from './vote-users.js'

export default defineScenario({
  name: 'vote-test',
  host: 'http://127.0.0.1:9',
  users: { Voter },
  stopTimeout: '2s',
})
