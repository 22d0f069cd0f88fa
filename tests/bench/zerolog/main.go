// zerolog in the side-by-side benchmark: the workload record (see
// tests/bench/common/workload.h) through github.com/rs/zerolog into a
// writer that drops the line, timed the way tests/bench/common/runner.c
// times the C programs (warm-up, batches of 500 for ns/op and records/s,
// then every call alone for the percentiles, minus the cost of an empty pair
// of clock reads). Built offline against Debian's golang-github-rs-zerolog-dev
// (GOPATH=/usr/share/gocode GO111MODULE=off; tests/bench/run.sh does it).
//
//	bench_zerolog --impl zerolog --bench null|sample [--threads 1] [--scale X]
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// The current span's ids, already in hex, as the other peers get them.
type span struct {
	traceID, spanID, corr string
}

func newSpan() span {
	var t [16]byte
	var s [8]byte
	_, _ = rand.Read(t[:])
	_, _ = rand.Read(s[:])
	th, sh := hex.EncodeToString(t[:]), hex.EncodeToString(s[:])
	return span{th, sh, th[:8] + "-" + sh[:8]}
}

// A writer that drops the line (the null sink), remembering its length.
type nullWriter struct{ last int }

func (w *nullWriter) Write(p []byte) (int, error) {
	w.last = len(p)
	return len(p), nil
}

func record(lg *zerolog.Logger, sp *span) {
	lg.Info().Str("traceId", sp.traceID).Str("spanId", sp.spanID).
		Str("correlationId", sp.corr).Int("cents", 1299).Str("route", "/pay").
		Float64("ratio", 0.25).Bool("retry", false).Msg("card charged")
}

func newLogger(w io.Writer) zerolog.Logger {
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000000Z07:00"
	zerolog.MessageFieldName = "msg"
	zerolog.TimestampFunc = func() time.Time { return time.Now().UTC() }
	return zerolog.New(w).With().Timestamp().Str("service", "checkout").Logger()
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	n := len(xs)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// nearest-rank percentile of sorted samples
func pct(xs []int64, p float64) int64 {
	if len(xs) == 0 {
		return 0
	}
	k := int(p*float64(len(xs))+0.999999) - 1
	if k < 0 {
		k = 0
	}
	if k >= len(xs) {
		k = len(xs) - 1
	}
	return xs[k]
}

func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

func main() {
	impl := flag.String("impl", "zerolog", "")
	bench := flag.String("bench", "null", "")
	threads := flag.Int("threads", 1, "")
	scale := flag.Float64("scale", 1, "")
	_ = flag.String("dir", ".", "")
	flag.Parse()
	runtime.GOMAXPROCS(*threads + 1)

	w := &nullWriter{}
	if *bench == "sample" {
		lg := newLogger(os.Stdout)
		sp := newSpan()
		record(&lg, &sp)
		return
	}
	if *bench != "null" || *threads != 1 {
		fmt.Fprintf(os.Stderr, "zerolog: only --bench null --threads 1\n")
		os.Exit(2)
	}
	lg := newLogger(w)
	sp := newSpan()
	for i := 0; i < 5000; i++ {
		record(&lg, &sp)
	}
	// batch phase
	budget := time.Duration(float64(600*time.Millisecond) * *scale)
	const batch = 500
	var per []float64
	var ops int64
	start := time.Now()
	for time.Since(start) < budget && len(per) < 1000 {
		t0 := time.Now()
		for i := 0; i < batch; i++ {
			record(&lg, &sp)
		}
		per = append(per, float64(time.Since(t0).Nanoseconds())/batch)
		ops += batch
	}
	wall := time.Since(start)
	// per-call phase, minus an empty pair of clock reads
	samples := int(100000 * *scale)
	var cal []float64
	for i := 0; i < 10000; i++ {
		t0 := time.Now()
		cal = append(cal, float64(time.Since(t0).Nanoseconds()))
	}
	empty := int64(median(cal))
	lat := make([]int64, 0, samples)
	for i := 0; i < samples; i++ {
		t0 := time.Now()
		record(&lg, &sp)
		d := time.Since(t0).Nanoseconds() - empty
		if d < 0 {
			d = 0
		}
		lat = append(lat, d)
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	// counting pass: Go heap allocations per record
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := 0; i < 2000; i++ {
		record(&lg, &sp)
	}
	runtime.ReadMemStats(&m1)
	allocs := float64(m1.Mallocs-m0.Mallocs) / 2000
	fmt.Printf("{\"bench\":\"null\",\"impl\":\"%s\",\"threads\":1,\"ns_per_op\":%.2f,"+
		"\"p50_ns\":%d,\"p99_ns\":%d,\"p999_ns\":%d,\"allocs_per_op\":%.3f,"+
		"\"records_per_s\":%.0f,\"bytes_per_record\":%d.0,\"peak_rss_kb\":%d}\n",
		*impl, median(per), pct(lat, 0.50), pct(lat, 0.99), pct(lat, 0.999), allocs,
		float64(ops)/wall.Seconds(), w.last, peakRSS())
}
