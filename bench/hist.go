package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in log-linear buckets: each power of two is cut
// into subBuckets equal parts, so a quantile read from it is at most 1/32
// (3%) above the true value. Adding is lock-free, so every receiver of the
// bench can record into one histogram; the exact maximum is kept aside.
type histogram struct {
	counts [64 * subBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

const (
	subBits    = 5
	subBuckets = 1 << subBits
)

// bucketOf returns the bucket of v ns (v ≥ 0).
func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - subBits // ≥ 1: v has subBits+e significant bits
	return e*subBuckets + int(v>>uint(e-1)) - subBuckets
}

// bucketTop returns the largest value that falls in bucket i.
func bucketTop(i int) uint64 {
	e, sub := i/subBuckets, uint64(i%subBuckets)
	if e == 0 {
		return sub
	}
	return (subBuckets+sub+1)<<uint(e-1) - 1
}

// record adds one sample.
func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// count returns how many samples were recorded.
func (h *histogram) count() uint64 { return h.n.Load() }

// quantile returns the upper bound of the bucket holding quantile q (0 < q ≤ 1),
// never more than the maximum seen. It returns 0 without samples.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(bucketTop(i)), time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Samples uint64  `json:"samples"`
	P50     float64 `json:"p50Ms"`
	P90     float64 `json:"p90Ms"`
	P99     float64 `json:"p99Ms"`
	Max     float64 `json:"maxMs"`
}

func (h *histogram) summary() Latency {
	return Latency{
		Samples: h.count(),
		P50:     ms(h.quantile(0.50)),
		P90:     ms(h.quantile(0.90)),
		P99:     ms(h.quantile(0.99)),
		Max:     ms(time.Duration(h.max.Load())),
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
