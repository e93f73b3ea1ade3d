// Package benchcmp runs a kelp operation and the raw client's equivalent
// side by side in one benchmark, alternating short blocks of each, so that
// the ratio of their throughputs holds even on a machine whose load
// changes during the run (other processes sharing its cores or its disk,
// as on a developer's machine or a CI runner). The drivers' benchmarks
// against their raw clients use it.
package benchcmp

import (
	"testing"
	"time"
)

// Block is how many messages each side handles before the other's turn
// in [Compare].
const Block = 25

// Compare runs kelp and raw in turns, Block messages at a time, until each
// has handled b.N, and reports the throughput of each (kelp-msg/s,
// raw-msg/s) and their ratio (kelp/raw: 1 means as fast as the raw
// client). Each function handles n messages and is called from the
// benchmark's goroutine; it reports failures through b.
func Compare(b *testing.B, kelp, raw func(n int)) { CompareBlocks(b, Block, kelp, raw) }

// CompareBlocks is [Compare] with turns of block messages. A side that
// works in the background during the other's turn (a consumer whose
// prefetch window fills meanwhile) needs blocks much larger than what it
// can do ahead, or its head start inflates its figure: with a prefetch of
// p, a block of 10p bounds the error to about a tenth.
func CompareBlocks(b *testing.B, block int, kelp, raw func(n int)) {
	b.Helper()
	var tk, tr time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		n := min(block, b.N-done)
		start := time.Now()
		kelp(n)
		mid := time.Now()
		raw(n)
		tk, tr = tk+mid.Sub(start), tr+time.Since(mid)
		if b.Failed() {
			return
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/tk.Seconds(), "kelp-msg/s")
	b.ReportMetric(float64(b.N)/tr.Seconds(), "raw-msg/s")
	b.ReportMetric(tr.Seconds()/tk.Seconds(), "ratio")
}
