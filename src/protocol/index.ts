/** Everything that knows Locust's wire: message types, the msgpack codec, the ZeroMQ transport, bucketing. */
export * from './messages.js'
export * from './codec.js'
export * from './transport.js'
export * from './buckets.js'
