'use strict'
/*
 * loki.js - pino-loki in the side-by-side benchmark: the workload record
 * (the same pino logger and trace mixin as bench.js), N times, through
 * pino-loki's transport (a worker thread, as its README sets it up) into the
 * benchmark's receiver (tests/bench/loki_recv.c), where spanlog's Loki sink
 * pushes too.
 *
 *   node loki.js --impl pino-loki --bench loki --url URL [--records N]
 *
 * pino-loki gets the same batching interval as spanlog's sink (100 ms) and
 * an unbounded buffer (maxBufferSize 0: its default 10,000 drops the oldest
 * records, and both clients must deliver every record), plus a
 * service_name label like the one spanlog's sink sets. records_per_s is N
 * over the time from the first call until the receiver has counted all N
 * entries (pino-loki's close does not wait for pushes already in flight, so
 * the receiver's count is the only sure end; the transport is closed after). ns_per_op is the caller's
 * median cost per record (batches of 500). bytes_per_record is filled in by
 * the driver from the receiver's count.
 */
const { AsyncLocalStorage } = require('node:async_hooks')
const crypto = require('node:crypto')
const fs = require('node:fs')
const pino = require('pino')

const BATCH = 500

function parseArgs (argv) {
  const a = { impl: null, bench: null, url: null, records: 100000 }
  for (let i = 2; i < argv.length; i += 2) {
    const v = argv[i + 1]
    if (v === undefined) throw new Error('missing value for ' + argv[i])
    switch (argv[i]) {
      case '--impl': a.impl = v; break
      case '--bench': a.bench = v; break
      case '--url': a.url = v; break
      case '--records': a.records = parseInt(v, 10); break
      case '--threads': case '--dir': case '--scale': break
      default: throw new Error('unknown option ' + argv[i])
    }
  }
  if (a.impl !== 'pino-loki' || a.bench !== 'loki' || !a.url || !(a.records > 0)) {
    throw new Error('usage: node loki.js --impl pino-loki --bench loki --url URL [--records N]')
  }
  return a
}

function peakRssKb () {
  try {
    const m = /VmHWM:\s*(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
    if (m) return parseInt(m[1], 10)
  } catch (e) {}
  return process.resourceUsage().maxRSS
}

async function entries (url) {
  const r = await fetch(new URL('/stats', url))
  return (await r.json()).entries
}

async function main () {
  const a = parseArgs(process.argv)
  const als = new AsyncLocalStorage()
  const transport = pino.transport({
    target: 'pino-loki',
    options: {
      host: a.url,
      batching: { interval: 0.1, maxBufferSize: 0 },
      labels: { service_name: 'checkout' },
      silenceErrors: false
    }
  })
  const logger = pino({
    base: { service: 'checkout' },
    formatters: { level: (label) => ({ level: label }) },
    mixin () {
      const s = als.getStore()
      return s === undefined
        ? {}
        : { traceId: s.traceId, spanId: s.spanId, correlationId: s.correlationId }
    }
  }, transport)
  await new Promise((resolve) => transport.once('ready', resolve))
  const before = await entries(a.url)
  const traceId = crypto.randomBytes(16).toString('hex')
  const spanId = crypto.randomBytes(8).toString('hex')
  const span = { traceId, spanId, correlationId: traceId.slice(0, 8) + '-' + spanId.slice(0, 8) }

  const batches = []
  const t0 = process.hrtime.bigint()
  await als.run(span, async () => {
    for (let left = a.records; left > 0;) {
      const n = Math.min(BATCH, left)
      const b0 = process.hrtime.bigint()
      for (let i = 0; i < n; i++) {
        logger.info({ cents: 1299, route: '/pay', ratio: 0.25, retry: false }, 'card charged')
      }
      batches.push(Number(process.hrtime.bigint() - b0) / n)
      left -= n
      /* Let the event loop turn, as a service's would between requests. */
      if (batches.length % 20 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
  })
  /* Everything is in pino-loki's buffer or in flight: its 100 ms timer
   * pushes the rest. The receiver's count says when it all arrived. */
  const deadline = Date.now() + 120000
  let got = await entries(a.url)
  while (got - before < a.records && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 2))
    got = await entries(a.url)
  }
  const t1 = process.hrtime.bigint()
  const delivered = got - before
  transport.end()
  if (delivered !== a.records) console.error(`pino-loki: the receiver has ${delivered} of ${a.records}`)
  batches.sort((x, y) => x - y)
  const mid = batches.length >> 1
  const median = batches.length % 2 ? batches[mid] : (batches[mid - 1] + batches[mid]) / 2
  process.stdout.write(JSON.stringify({
    bench: 'loki',
    impl: 'pino-loki',
    threads: 1,
    ns_per_op: Number(median.toFixed(2)),
    records_per_s: Math.round(delivered * 1e9 / Number(t1 - t0)),
    peak_rss_kb: peakRssKb()
  }) + '\n')
}

main().catch((e) => { console.error(e.message); process.exit(1) })
