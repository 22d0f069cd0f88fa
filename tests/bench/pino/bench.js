'use strict'
/*
 * bench.js - the pino peer of the side-by-side benchmark.
 *
 * The logger is set up the way the TypeScript tracing SDK beside our C
 * services sets it up: `service` in `base`, level names instead of numbers,
 * and a `mixin` that adds traceId, spanId and correlationId of the current
 * span, read from an AsyncLocalStorage (what OpenTelemetry's context manager
 * uses on Node). The span holds its ids already in hex, as the C peers' does.
 * pino writes `time` as epoch milliseconds (its default); the driver compares
 * every key and value except the time format.
 *
 *   node bench.js --impl pino|pino-async --bench null|devnull|file|disabled|sample
 *                 [--threads N] [--dir DIR] [--scale X]
 *
 * pino: null = a destination object whose write() drops the line; devnull and
 * file = pino.destination({sync: true}) (one writeSync per record).
 * pino-async: pino.destination({sync: false, minLength: 4096}) (SonicBoom
 * gathers lines and writes them from the event loop, which the benchmark lets
 * run between batches). Threads > 1 run one worker_thread per thread, each
 * with its own logger and destination (Node has no other way to log from two
 * threads at once). Timing with process.hrtime.bigint(); per-call samples
 * have the calibrated cost of an empty bracket removed, as in the C harness.
 * One JSON line on stdout, the same keys as the C programs (no allocs_per_op:
 * the V8 heap does not count allocations per call).
 */
const { AsyncLocalStorage } = require('node:async_hooks')
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const pino = require('pino')

/* pino-async: small batches, with the event loop turning after each, so that
 * SonicBoom's writes (16 KiB each) keep up with the records as they would in
 * a service; in bigger batches its buffer grows without bound. */
let OPS_PER_BATCH = 500
let MAX_BATCHES = 1000
const WARMUP = 20000

function parseArgs (argv) {
  const a = { impl: null, bench: null, threads: 1, dir: '.', scale: 1 }
  for (let i = 2; i < argv.length; i += 2) {
    const v = argv[i + 1]
    if (v === undefined) throw new Error('missing value for ' + argv[i])
    switch (argv[i]) {
      case '--impl': a.impl = v; break
      case '--bench': a.bench = v; break
      case '--threads': a.threads = parseInt(v, 10); break
      case '--dir': a.dir = v; break
      case '--scale': a.scale = parseFloat(v); break
      default: throw new Error('unknown option ' + argv[i])
    }
  }
  if (!['pino', 'pino-async'].includes(a.impl) || !a.bench || !(a.threads >= 1)) {
    throw new Error('usage: node bench.js --impl pino|pino-async --bench NAME [--threads N]')
  }
  return a
}

function newSpan () {
  const traceId = crypto.randomBytes(16).toString('hex')
  const spanId = crypto.randomBytes(8).toString('hex')
  return { traceId, spanId, correlationId: traceId.slice(0, 8) + '-' + spanId.slice(0, 8) }
}

const als = new AsyncLocalStorage()

function makeLogger (dest) {
  return pino({
    base: { service: 'checkout' },
    formatters: { level: (label) => ({ level: label }) },
    mixin () {
      const s = als.getStore()
      return s === undefined
        ? {}
        : { traceId: s.traceId, spanId: s.spanId, correlationId: s.correlationId }
    }
  }, dest)
}

function record (logger) {
  logger.info({ cents: 1299, route: '/pay', ratio: 0.25, retry: false }, 'card charged')
}

async function makeDestination (a, index) {
  if (a.bench === 'null') {
    /* pino accepts any object with write(): the line is produced and dropped. */
    const d = { bytes: 0, records: 0, write (s) { this.bytes += s.length; this.records++ } }
    return { dest: d, file: null }
  }
  const file = a.bench === 'devnull' ? '/dev/null' : path.join(a.dir, `${a.impl}-${a.threads}.log`)
  if (a.bench === 'file' && index === 0 && fs.existsSync(file)) fs.unlinkSync(file)
  const sync = a.impl === 'pino'
  const dest = pino.destination(sync ? { dest: file, sync: true } : { dest: file, sync: false, minLength: 4096 })
  if (!sync && dest.fd < 0) await new Promise((resolve) => dest.once('ready', resolve))
  return { dest, file: a.bench === 'file' ? file : null }
}

function drain (dest) {
  if (typeof dest.flush !== 'function' || dest.minLength === undefined || dest.minLength <= 0) {
    return Promise.resolve()
  }
  return new Promise((resolve) => dest.flush(resolve))
}

const yieldLoop = () => new Promise((resolve) => setImmediate(resolve))

function timerOverhead () {
  const n = 20001
  const d = new Array(n)
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    const t1 = process.hrtime.bigint()
    d[i] = Number(t1 - t0)
  }
  d.sort((x, y) => x - y)
  return d[n >> 1]
}

/* VmHWM: resourceUsage().maxRSS, like getrusage, keeps the peak of the
 * process that exec'd node (the driver). */
function peakRssKb () {
  try {
    const m = /VmHWM:\s*(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
    if (m) return parseInt(m[1], 10)
  } catch (e) {}
  return process.resourceUsage().maxRSS
}

function quantile (sorted, q) {
  if (sorted.length === 0) return null
  let rank = Math.ceil(q * sorted.length)
  if (rank < 1) rank = 1
  if (rank > sorted.length) rank = sorted.length
  return sorted[rank - 1]
}

function median (xs) {
  const s = Float64Array.from(xs).sort()
  const n = s.length
  return n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2
}

/* One thread's scenario: warm-up, batch phase, per-call phase. */
async function runThread (a, index, barrier) {
  const { dest, file } = await makeDestination(a, index)
  const logger = makeLogger(dest)
  const budget = BigInt(Math.round(6e8 * a.scale))
  const samplesWanted = Math.round(100000 * a.scale)
  const ovh = timerOverhead()
  const out = await als.run(newSpan(), async () => {
    for (let i = 0; i < WARMUP; i++) {
      record(logger)
      if (i % OPS_PER_BATCH === 0) await yieldLoop()
    }
    await drain(dest)
    if (barrier) barrier()
    const batches = []
    const start = process.hrtime.bigint()
    while (batches.length < MAX_BATCHES) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < OPS_PER_BATCH; i++) record(logger)
      const t1 = process.hrtime.bigint()
      batches.push(Number(t1 - t0) / OPS_PER_BATCH)
      await yieldLoop()
      if (batches.length >= 5 && t1 - start > budget) break
    }
    await drain(dest)
    const end = process.hrtime.bigint()
    const samples = new Float64Array(samplesWanted)
    for (let i = 0; i < samplesWanted; i++) {
      const t0 = process.hrtime.bigint()
      record(logger)
      const t1 = process.hrtime.bigint()
      const d = Number(t1 - t0) - ovh
      samples[i] = d > 0 ? d : 0
      if (i % OPS_PER_BATCH === 0) await yieldLoop()
    }
    await drain(dest)
    return { batches, samples, ops: batches.length * OPS_PER_BATCH, start, end }
  })
  let bytesPerRecord = null
  if (a.bench === 'null') bytesPerRecord = dest.bytes / dest.records
  if (file) {
    const st = fs.statSync(file)
    if (a.threads === 1) bytesPerRecord = st.size / (WARMUP + out.ops + samplesWanted)
  }
  return { ...out, bytesPerRecord, file }
}

function result (a, parts) {
  const batches = parts.flatMap((p) => p.batches)
  const samples = Float64Array.from(parts.flatMap((p) => Array.from(p.samples))).sort()
  const start = parts.reduce((m, p) => (p.start < m ? p.start : m), parts[0].start)
  const end = parts.reduce((m, p) => (p.end > m ? p.end : m), parts[0].end)
  const ops = parts.reduce((s, p) => s + p.ops, 0)
  const r = {
    bench: a.bench,
    impl: a.impl,
    threads: a.threads,
    ns_per_op: Number(median(batches).toFixed(2)),
    p50_ns: quantile(samples, 0.5),
    p99_ns: quantile(samples, 0.99),
    p999_ns: quantile(samples, 0.999),
    records_per_s: Math.round(ops * 1e9 / Number(end - start))
  }
  const bpr = parts.find((p) => p.bytesPerRecord !== null)
  if (bpr) r.bytes_per_record = Number(bpr.bytesPerRecord.toFixed(1))
  r.peak_rss_kb = peakRssKb()
  return r
}

async function runDisabled (a) {
  const d = { write () {} }
  const logger = makeLogger(d)
  const n = 1000000
  const batches = []
  await als.run(newSpan(), async () => {
    for (let rep = 0; rep < 60; rep++) {
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < n; i++) {
        logger.debug({ cents: 1299, route: '/pay', ratio: 0.25, retry: false }, 'card charged')
      }
      const t1 = process.hrtime.bigint()
      if (rep >= 10) batches.push(Number(t1 - t0) / n)
    }
  })
  return {
    bench: 'disabled',
    impl: a.impl,
    threads: 1,
    ns_per_op: Number(median(batches).toFixed(2)),
    peak_rss_kb: peakRssKb()
  }
}

function configure (a) {
  if (a.impl === 'pino-async') {
    OPS_PER_BATCH = 50
    MAX_BATCHES = 10000
  }
}

async function main () {
  const a = parseArgs(process.argv)
  configure(a)
  if (a.bench === 'sample') {
    const logger = makeLogger(pino.destination({ dest: 1, sync: true }))
    als.run(newSpan(), () => record(logger))
    return
  }
  if (a.bench === 'disabled') {
    process.stdout.write(JSON.stringify(await runDisabled(a)) + '\n')
    return
  }
  if (!['null', 'devnull', 'file'].includes(a.bench)) throw new Error('no bench ' + a.bench)
  if (a.impl === 'pino-async' && a.bench === 'null') throw new Error('pino-async has no null bench')
  let parts
  if (a.threads === 1) {
    parts = [await runThread(a, 0, null)]
  } else {
    /* A start barrier in shared memory, so the threads' batch phases overlap. */
    const shared = new Int32Array(new SharedArrayBuffer(4))
    parts = await Promise.all(Array.from({ length: a.threads }, (_, i) => new Promise((resolve, reject) => {
      const w = new Worker(__filename, { argv: process.argv.slice(2), workerData: { index: i, shared } })
      w.once('message', (m) => resolve({ ...m, start: BigInt(m.start), end: BigInt(m.end) }))
      w.once('error', reject)
    })))
  }
  for (const p of parts) if (p.file && fs.existsSync(p.file)) fs.unlinkSync(p.file)
  process.stdout.write(JSON.stringify(result(a, parts)) + '\n')
}

if (isMainThread) {
  main().catch((e) => { console.error(e.message); process.exit(1) })
} else {
  const a = parseArgs(process.argv)
  configure(a)
  const { index, shared } = workerData
  const barrier = () => {
    Atomics.add(shared, 0, 1)
    while (Atomics.load(shared, 0) < a.threads) Atomics.wait(shared, 0, Atomics.load(shared, 0), 10)
  }
  runThread(a, index, barrier).then((r) => {
    parentPort.postMessage({ ...r, start: r.start.toString(), end: r.end.toString() })
  })
}
