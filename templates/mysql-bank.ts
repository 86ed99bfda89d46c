// MySQL / MariaDB bank-account transfers (JdbcRunner style): init loads accounts, users transfer money, fin checks the sum of balances.
//
// Copy to scenarios/<your-test>.ts and adjust. Run it locally against your own database:
//   BANK_DATABASE_URL=mysql://app@127.0.0.1:3306/bank horde run scenarios/<your-test>.ts --users 50 --duration 2m --workers 2
// On Kubernetes, the team overlay manifests/overlays/mysql-bank/ puts BANK_DATABASE_URL into the workers
// from a Secret: the URL (and its password) never appears in this file, the logs or the report.
import { defineScenario, defineMysql, user, constant } from 'horde'

/** How many accounts init creates, and the balance each starts with: fin checks their sum. */
const ACCOUNTS = 1000
const OPENING_BALANCE = 1000

const bank = defineMysql({
  urlEnv: 'BANK_DATABASE_URL', // or passwordFile: '/var/run/secrets/bank/password' with host/user/database
  // false: text protocol. true: parameterised statements run through mysql2's execute() and its per-connection
  // prepared statement cache (less parsing per query); leave false behind a proxy that does not support them.
  prepare: false,
  pool: {
    // Connections per worker, shared by all its users. Users beyond it wait for a connection: that wait is
    // recorded as "<name> pool wait" and, when long, counts as generator saturation (not the database's fault).
    max: 20,
    min: 5, // opened at start, so the first seconds do not measure connection set-up
    acquireTimeout: '5s', // a query that waited this long for a connection fails (raise max, or lower users)
    idleTimeout: '30s', // idle connections above min are closed after this
    statementTimeout: '10s', // mysql2 gives up on a statement after this and closes its connection
  },
})

const randomAccount = (): number => 1 + Math.floor(Math.random() * ACCOUNTS)

export default defineScenario({
  name: 'mysql-bank',
  // init runs once per run on one worker, before any user starts on any worker (a barrier).
  // initPerAgent: true would run it on every worker, each with its agentId (e.g. to load its own slice).
  init: async ({ db, log }) => {
    const my = db.mysql(bank)
    await my.query(
      'CREATE TABLE IF NOT EXISTS accounts (id int PRIMARY KEY, balance bigint NOT NULL) ENGINE=InnoDB',
    )
    await my.query('TRUNCATE accounts')
    // Portable across MySQL and MariaDB (no generate_series): rows in batches of 500.
    for (let first = 1; first <= ACCOUNTS; first += 500) {
      const ids = Array.from({ length: Math.min(500, ACCOUNTS - first + 1) }, (_, i) => first + i)
      await my.query(
        `INSERT INTO accounts (id, balance) VALUES ${ids.map(() => '(?, ?)').join(', ')}`,
        ids.flatMap((id) => [id, OPENING_BALANCE]),
      )
    }
    log.info({ accounts: ACCOUNTS }, 'accounts loaded')
  },
  warmup: '10s', // excluded from results and thresholds: caches and pools warm up
  throttle: 500, // at most 500 transactions/s across the run (all workers); remove for an uncapped run
  users: {
    Teller: user({
      wait: constant('10ms'), // sleep between transactions (JdbcRunner's sleepTime)
      tasks: {
        // One transaction: recorded as "TX transfer", plus a row per statement and "transfer pool wait".
        transfer: {
          weight: 4,
          fn: ({ db }) =>
            db.mysql(bank).tx('transfer', async (q) => {
              const from = randomAccount()
              const to = randomAccount()
              const amount = 1 + Math.floor(Math.random() * 10)
              // Lock both rows in id order, so two opposite transfers cannot deadlock.
              await q.query('SELECT id FROM accounts WHERE id IN (?, ?) ORDER BY id FOR UPDATE', [from, to], {
                name: 'lock accounts',
              })
              await q.query('UPDATE accounts SET balance = balance - ? WHERE id = ?', [amount, from], {
                name: 'debit',
              })
              await q.query('UPDATE accounts SET balance = balance + ? WHERE id = ?', [amount, to], {
                name: 'credit',
              })
            }),
        },
        balance: {
          weight: 1,
          fn: ({ db }) =>
            db.mysql(bank).query('SELECT balance FROM accounts WHERE id = ?', [randomAccount()], {
              name: 'balance',
            }),
        },
      },
    }),
  },
  // fin runs once after every worker has stopped its users (a barrier): a throw makes the run `fail`.
  fin: async ({ db }) => {
    const { rows } = await db
      .mysql(bank)
      .query<{ total: string; n: string }>('SELECT sum(balance) AS total, count(*) AS n FROM accounts')
    const expected = ACCOUNTS * OPENING_BALANCE
    if (Number(rows[0]?.total) !== expected || Number(rows[0]?.n) !== ACCOUNTS) {
      throw new Error(
        `invariant broken: the balances of ${rows[0]?.n} accounts sum to ${rows[0]?.total}, expected ${expected} over ${ACCOUNTS}`,
      )
    }
  },
  thresholds: {
    // req_* look at every row (SQL, TX, POOL); http_* only at HTTP ones.
    'req_failed{method:TX}': ['rate<0.01'], // transactions that failed (deadlock, timeout, pool wait too long)
    'req_duration{name:transfer}': ['p(95)<50'], // a whole transfer, BEGIN to COMMIT, without its pool wait
  },
})
