/**
 * User flow: log in → browse → add to cart → check out, in order, with per-user state (token, cart).
 *
 * Start here for a journey where each step needs what the previous one returned. Copy it with
 * `horde new <name> --template user-flow`, then:
 * - put your login call in `onStart` (once per user) and keep what it returns in `state`,
 * - list the journey's steps in `sequence` (run in order, then again from the top),
 * - throw `StopUser` when a user cannot go on (it ends that user; any other throw is reported).
 * Run it locally: `horde run scenarios/<name>.ts --users 10 --duration 1m --host http://127.0.0.1:8080`.
 * The endpoints below (/login, /products, /cart/items, /checkout) are placeholders for your service.
 */
import { defineScenario, user, between, StopUser } from 'horde'

/** What one simulated shopper remembers between steps. Each user has its own copy. */
interface Shopper {
  token: string
  productIds: string[]
  cartSize: number
}

export default defineScenario({
  name: 'user-flow',
  host: 'http://127.0.0.1:8080',
  http: {
    // Keep-alive on (the default): a shopper's browser keeps its connection between pages.
    keepAlive: true,
    // One connection per user, like one browser per shopper.
    connections: null,
    timeout: '10s',
  },
  users: {
    Shopper: user<Shopper>({
      weight: 1,
      // Think time between steps: people read pages. Remove it to find the service's ceiling.
      wait: between('500ms', '2s'),
      state: () => ({ token: '', productIds: [], cartSize: 0 }),
      // Once per user before any step: log in as a distinct test account.
      onStart: async ({ http, state, userIndex, workerIndex }) => {
        const res = await http.post('/login', {
          json: { username: `load-${workerIndex}-${userIndex}`, password: 'load-test' },
        })
        // A user that cannot log in stops rather than browsing anonymously and skewing the numbers.
        if (!res.ok) throw new StopUser()
        state.token = res.json<{ token: string }>().token
      },
      sequence: [
        async ({ http, state }) => {
          const res = await http.get('/products', { headers: { authorization: `Bearer ${state.token}` } })
          if (res.ok)
            state.productIds = res.json<{ products: Array<{ id: string }> }>().products.map((p) => p.id)
        },
        async ({ http, state }) => {
          const id = state.productIds[Math.floor(Math.random() * state.productIds.length)]
          if (id === undefined) return // nothing to buy this round: the next pass browses again
          const res = await http.post('/cart/items', {
            headers: { authorization: `Bearer ${state.token}` },
            json: { productId: id, quantity: 1 },
          })
          if (res.ok) state.cartSize += 1
        },
        async ({ http, state }) => {
          if (state.cartSize === 0) return
          await http.post('/checkout', {
            headers: { authorization: `Bearer ${state.token}` },
            json: {},
            check: (res) => res.status === 201 || `expected 201 Created, got ${res.status}`,
          })
          state.cartSize = 0
        },
      ],
    }),
  },
  thresholds: {
    // The step that earns money gets its own objective.
    'http_req_duration{name:/checkout}': ['p(95)<800'],
    http_req_duration: ['p(95)<500'],
    http_req_failed: ['rate<0.01'],
  },
  warmup: '5s',
  stopTimeout: '2s',
})
