// A target for partition tests, run inside a host namespace on its own 127.0.0.1 (never reachable from
// outside it): answers every request with 200 and prints how many it served every 100 ms. Stops by itself
// after the given number of seconds, so no load loop outlives the test.
import { createServer } from 'node:http'

const port = Number(process.argv[2] ?? 8080)
const lifetimeSec = Number(process.argv[3] ?? 120)
let served = 0
const server = createServer((req, res) => {
  served++
  res.end('ok')
})
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`))
const tick = setInterval(() => process.stdout.write(`served ${served}\n`), 100)
setTimeout(() => {
  clearInterval(tick)
  server.close()
  process.exit(0)
}, lifetimeSec * 1000).unref()
