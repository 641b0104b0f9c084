package wire

import (
	"bytes"
	"strings"
	"testing"
)

// benchText is a 128-byte message text, the size `campbus bench` and
// `nats bench` use by default.
var benchText = strings.Repeat("x", 128)

var (
	benchRequestBody = []byte(`{"text":"` + benchText + `"}`)
	benchEventBody   = []byte(`{"type":"message","group":17,"from":"J00042","text":"` + benchText + `","seq":1234,"remaining":8766}`)
	benchRespBody    = []byte(`{"group":17,"seq":1234,"remaining":8766,"delivered":3}`)
)

// repeatReader yields the same bytes forever, so a benchmark reads frame
// after frame without allocating a stream up front.
type repeatReader struct {
	frame []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.frame[r.off:])
		n += c
		r.off = (r.off + c) % len(r.frame)
	}
	return n, nil
}

func benchmarkRead(b *testing.B, frame []byte, lim Limits) {
	r := NewReader(&repeatReader{frame: frame}, lim)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadRequest reads a message request, as the server's reader does
// for every request.
func BenchmarkReadRequest(b *testing.B) {
	benchmarkRead(b, AppendRequest(nil, "message", "", benchRequestBody), DefaultLimits)
}

// BenchmarkReadRequestWithID reads a request carrying a Request-Id.
func BenchmarkReadRequestWithID(b *testing.B) {
	benchmarkRead(b, AppendRequest(nil, "message", "123456", benchRequestBody), DefaultLimits)
}

// BenchmarkReadEvent reads a message event, as a client does for every
// delivery.
func BenchmarkReadEvent(b *testing.B) {
	benchmarkRead(b, AppendEvent(nil, "message", benchEventBody), Limits{MaxBodyBytes: 1 << 20})
}

// BenchmarkReadResponse reads a message response.
func BenchmarkReadResponse(b *testing.B) {
	benchmarkRead(b, AppendResponse(nil, 200, "7", benchRespBody), Limits{MaxBodyBytes: 1 << 20})
}

// BenchmarkReadPipelined reads 16 pipelined requests from one buffer.
func BenchmarkReadPipelined(b *testing.B) {
	var stream []byte
	for range 16 {
		stream = AppendRequest(stream, "message", "", benchRequestBody)
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(stream), DefaultLimits)
		for range 16 {
			if _, err := r.ReadFrame(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkAppendEvent builds a message event frame into a reused buffer,
// as the dispatcher could.
func BenchmarkAppendEvent(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.SetBytes(int64(len(AppendEvent(nil, "message", benchEventBody))))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEvent(buf[:0], "message", benchEventBody)
	}
}

// BenchmarkAppendEventFresh builds a message event frame into a new buffer,
// as the dispatcher does today (one allocation and its growth per event).
func BenchmarkAppendEventFresh(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = AppendEvent(nil, "message", benchEventBody)
	}
}

// BenchmarkAppendResponse builds a response frame with a Request-Id.
func BenchmarkAppendResponse(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendResponse(buf[:0], 200, "123456", benchRespBody)
	}
}

// BenchmarkAppendRequest builds a message request frame.
func BenchmarkAppendRequest(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRequest(buf[:0], "message", "", benchRequestBody)
	}
}
