import { user, task, constant } from 'horde'

/** The same user class as test/helpers/locustfiles/vote_locustfile.py, so Python and Horde workers mix. */
export const Voter = user({
  weight: 1,
  wait: constant('100ms'),
  tasks: {
    results: task(1, ({ http }) => http.get('/results')),
    vote: task(2, ({ http }) => http.post('/vote', { form: { vote: 'a' } })),
  },
})
