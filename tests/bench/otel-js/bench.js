// OpenTelemetry JS, the side-by-side peer of tests/bench/otlp_bench.c: the
// same span shape (INTERNAL, a 2-attribute span with a name, sampled, ended
// at once), exported with the BatchSpanProcessor and the OTLP/HTTP protobuf
// exporter into the same sink-hole receiver. Prints one JSON line:
//   {"impl":"otel-js","spans":N,"cpu_s":..,"wall_s":..,"spans_per_cpu_s":..,
//    "caller_ns_per_span":..}
// caller_ns_per_span is the time of the start+end loop alone (the batch
// processor exports from timers on the same thread, so that time is
// included whenever an export ran during the loop).
// usage: node bench.js URL N
'use strict';
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { Resource } = require('@opentelemetry/resources');

const url = process.argv[2];
const n = Number(process.argv[3] || 200000);
// concurrencyLimit: forceFlush exports every queued batch at once, and the
// default limit (30) then drops the rest with "Concurrent export limit reached".
const exporter = new OTLPTraceExporter({ url, concurrencyLimit: 100000 });
const provider = new BasicTracerProvider({
  resource: new Resource({ 'service.name': 'bench' }),
  spanProcessors: [new BatchSpanProcessor(exporter, {
    maxQueueSize: 1 << 20, maxExportBatchSize: 512, scheduledDelayMillis: 200,
  })],
});
const tracer = provider.getTracer('bench', '1.0.0');

async function main() {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const chunk = 5000;
  let callerNs = 0n;
  for (let done = 0; done < n; done += chunk) {
    const c0 = process.hrtime.bigint();
    for (let i = 0; i < chunk && done + i < n; i++) {
      const s = tracer.startSpan('bench.span', { attributes: { 'http.method': 'GET', i } });
      s.end();
    }
    callerNs += process.hrtime.bigint() - c0;
    // Let the batch processor's timers and the exporter run, as they would
    // between requests in a service.
    await new Promise((r) => setImmediate(r));
  }
  await provider.forceFlush();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  console.log(JSON.stringify({
    impl: 'otel-js', spans: n, cpu_s: cpuS, wall_s: wall,
    spans_per_cpu_s: n / cpuS, caller_ns_per_span: Number(callerNs) / n,
  }));
  await provider.shutdown();
}
main().catch((e) => { console.error(e); process.exit(1); });
