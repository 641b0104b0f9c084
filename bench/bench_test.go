package bench

import (
	"context"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/wire"
)

// testTimeout bounds every run in these tests.
const testTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func startTestServer(t *testing.T, groupSize int) *Embedded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	e, err := StartEmbedded(ctx, campbus.MustParseIDRange(campbus.DefaultCampIDs), groupSize, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		assert.NoError(t, e.Close(ctx))
	})
	return e
}

func runTest(t *testing.T, cfg Config) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	res, err := Run(ctx, cfg)
	require.NoError(t, err)
	return res
}

func tinyConfig(addr string) Config {
	cfg := DefaultConfig()
	cfg.Addr = addr
	cfg.Groups, cfg.Messages = 2, 5
	cfg.DeliveryTimeout = 10 * time.Second
	return cfg
}

func TestRunDeliversEveryMessageToEveryOtherMemberInOrder(t *testing.T) {
	e := startTestServer(t, 4)
	cfg := tinyConfig(e.Addr())
	cfg.Probe = e.Probe()
	res := runTest(t, cfg)

	assert.True(t, res.Verify.OK, "problems: %v", res.Verify.Problems)
	assert.Equal(t, 8, res.Checkin.Count)
	assert.Equal(t, 2, res.Groups)
	assert.Equal(t, 2, res.Sessions)
	assert.EqualValues(t, 40, res.Send.Accepted)
	assert.EqualValues(t, 120, res.Send.Delivered)
	assert.EqualValues(t, 120, res.Verify.Expected)
	assert.Equal(t, LimitProbes{Groups: 2, Refused: 2}, res.LimitProbes, "a full session refuses one more")
	assert.Empty(t, res.Errors)
	assert.Equal(t, 8, res.Checkout.Count)
	assert.EqualValues(t, 120, res.Latency.Samples)
	assert.Positive(t, res.Latency.P50)
	assert.LessOrEqual(t, res.Latency.P50, res.Latency.P99)
	assert.LessOrEqual(t, res.Latency.P99, res.Latency.Max)
	require.NotNil(t, res.Footprint)
	assert.Equal(t, 8, res.Footprint.CheckedIn.Conns)
	assert.Zero(t, res.Footprint.AfterLeave.Conns)
	assert.Nil(t, res.Send.ServerCPU, "an embedded server's CPU is the bench's too: not measured")
}

func TestRunWithOneSenderPerGroupPacedAndPipelined(t *testing.T) {
	for name, config := range map[string]func(t *testing.T) Config{
		"campbus":            func(t *testing.T) Config { return tinyConfig(startTestServer(t, 4).Addr()) },
		"jetstream baseline": func(t *testing.T) Config { return baselineConfig(startNATSServer(t), BaselineJetStream) },
		"core baseline":      func(t *testing.T) Config { return baselineConfig(startNATSServer(t), BaselineCore) },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config(t)
			cfg.Senders, cfg.Messages, cfg.InFlight, cfg.Rate = 1, 10, 3, 400
			res := runTest(t, cfg)

			assert.True(t, res.Verify.OK, "problems: %v", res.Verify.Problems)
			assert.Equal(t, 2, res.Send.Senders)
			assert.EqualValues(t, 20, res.Send.Accepted)
			assert.EqualValues(t, 60, res.Send.Delivered)
			assert.GreaterOrEqual(t, res.Send.Seconds, 0.01, "10 messages at 200/s per sender take some time")
		})
	}
}

func TestRunStopsSendingAtTheDuration(t *testing.T) {
	e := startTestServer(t, 4)
	cfg := tinyConfig(e.Addr())
	cfg.Groups, cfg.Messages, cfg.Rate, cfg.Duration = 1, 2500, 100, 200*time.Millisecond
	res := runTest(t, cfg)

	assert.True(t, res.Verify.OK, "problems: %v", res.Verify.Problems)
	assert.Less(t, res.Send.Accepted, int64(100), "about 20 messages in 0.2 s at 100/s")
	assert.Equal(t, LimitProbes{}, res.LimitProbes, "no session was full, so nothing to probe")
}

// The verifier is tested against a server that breaks its promises: a proxy
// between the bench and a real server rewrites what the campers receive.

// tamper decides, for the n-th message event (counting from 1) a
// connection receives, how many copies to pass on: 0 drops it.
type tamper func(conn, n int) int

// startTamperingProxy relays connections to addr, passing every frame from
// the server through tamper.
func startTamperingProxy(t *testing.T, addr string, tm tamper) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var conns atomic.Int64
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				down.Close()
				continue
			}
			id := int(conns.Add(1))
			wg.Add(2)
			go func() { // camper → server, as it is
				defer wg.Done()
				_, _ = io.Copy(up, down)
				up.Close()
			}()
			go func() { // server → camper, tampered
				defer wg.Done()
				defer down.Close()
				relayFrames(down, up, id, tm)
			}()
		}
	}()
	return ln.Addr().String()
}

func relayFrames(down io.Writer, up io.Reader, id int, tm tamper) {
	r := wire.NewReader(up, wire.Limits{MaxBodyBytes: 1 << 20})
	messages := 0
	var buf []byte
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return
		}
		copies := 1
		switch {
		case f.IsEvent():
			if f.Name() == campbus.EventMessage {
				messages++
				copies = tm(id, messages)
			}
			buf = wire.AppendEvent(buf[:0], f.Name(), f.Body)
		default:
			buf = wire.AppendResponse(buf[:0], f.Status, f.Get(wire.FieldRequestID), f.Body)
		}
		for range copies {
			if _, err := down.Write(buf); err != nil {
				return
			}
		}
	}
}

func TestVerifyCatchesWhatABrokenServerDoes(t *testing.T) {
	tests := []struct {
		name   string
		tamper tamper
		check  func(t *testing.T, v Verify)
	}{
		{
			name:   "a lost delivery",
			tamper: func(conn, n int) int { return map[bool]int{true: 0, false: 1}[conn == 2 && n == 3] },
			check: func(t *testing.T, v Verify) {
				assert.EqualValues(t, 1, v.Lost)
				assert.Zero(t, v.Extra)
			},
		},
		{
			name:   "a delivery made twice",
			tamper: func(conn, n int) int { return map[bool]int{true: 2, false: 1}[conn == 3 && n == 2] },
			check: func(t *testing.T, v Verify) {
				assert.EqualValues(t, 1, v.Extra)
				assert.Equal(t, 1, v.OutOfOrder, "the copy's seq does not rise")
			},
		},
		{
			name: "one delivery lost and another made twice, so the count is right",
			tamper: func(conn, n int) int {
				switch {
				case conn == 1 && n == 1:
					return 0
				case conn == 1 && n == 4:
					return 2
				}
				return 1
			},
			check: func(t *testing.T, v Verify) {
				assert.Zero(t, v.Lost)
				assert.Zero(t, v.Extra)
				assert.Equal(t, 1, v.Mismatched, "the checksum sees the swap")
				assert.Equal(t, 1, v.OutOfOrder)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startTestServer(t, 4)
			cfg := tinyConfig(startTamperingProxy(t, e.Addr(), tt.tamper))
			cfg.Groups = 1
			// Deliveries that never come are waited for this long.
			cfg.DeliveryTimeout = 2 * time.Second
			res := runTest(t, cfg)
			assert.False(t, res.Verify.OK)
			assert.Positive(t, res.Verify.Violations)
			assert.NotEmpty(t, res.Verify.Problems)
			tt.check(t, res.Verify)
		})
	}
}

func TestRunFailsWhenNobodyCanCheckIn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := tinyConfig(addr)
	_, err = Run(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no camper could check in")
}

func TestValidateRefusesImpossibleRuns(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"groups of one, where nobody receives", func(c *Config) { c.GroupSize = 1 }},
		{"a session over 10000 messages", func(c *Config) { c.Messages = 2501 }},
		{"more campers than the range has ids", func(c *Config) { c.Groups = 97 }},
		{"more senders than members", func(c *Config) { c.Senders = 5 }},
		{"a negative rate", func(c *Config) { c.Rate = -1 }},
		{"an unknown transport", func(c *Config) { c.Transport = "pigeon" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			assert.Error(t, cfg.Validate())
		})
	}
	cfg := DefaultConfig()
	assert.NoError(t, cfg.Validate(), "the defaults are valid")
}

func TestMessageTextCarriesSendTimeSenderAndNumberAtTheAskedSize(t *testing.T) {
	r := &run{cfg: Config{Size: 128}}
	c := newCamper(r, 42, "J043")
	body := c.messageBody(123456789*time.Nanosecond, 7)
	text := string(body[len(`{"text":"`) : len(body)-len(`"}`)])
	assert.Len(t, text, 128)
	sentAt, from, num, ok := parseText(text)
	require.True(t, ok)
	assert.Equal(t, 123456789*time.Nanosecond, sentAt)
	assert.Equal(t, 42, from)
	assert.Equal(t, 7, num)

	for _, foreign := range []string{"", "hello", "1.2", "a.b.c.", "-1.2.3.", "1..3."} {
		_, _, _, ok := parseText(foreign)
		assert.False(t, ok, "%q is not a bench text", foreign)
	}
}

func TestHistogramQuantilesStayWithinThreePercent(t *testing.T) {
	var h histogram
	for i := 1; i <= 10000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := time.Duration(q*10000) * time.Microsecond
		got := h.quantile(q)
		assert.GreaterOrEqual(t, got, want, "q%.2f", q)
		assert.LessOrEqual(t, float64(got), float64(want)*1.035, "q%.2f: %v, want about %v", q, got, want)
	}
	assert.Equal(t, 10*time.Millisecond, h.quantile(1))
	assert.EqualValues(t, 10000, h.count())
	s := h.summary()
	assert.InDelta(t, 10.0, s.Max, 0.001)

	var empty histogram
	assert.Zero(t, empty.quantile(0.99))
}

func TestHistogramBucketsAreContiguous(t *testing.T) {
	for i := 1; i < 40*subBuckets; i++ {
		top := bucketTop(i - 1)
		assert.Equal(t, i-1, bucketOf(top), "the top of bucket %d is in it", i-1)
		assert.Equal(t, i, bucketOf(top+1), "the value after the top of bucket %d starts bucket %d", i-1, i)
	}
}

func TestTagsOfDifferentDeliveriesDiffer(t *testing.T) {
	seen := map[uint64]bool{}
	for seq := 1; seq <= 40; seq++ {
		for from := 0; from < 8; from++ {
			for num := 0; num < 10; num++ {
				tg := tag(seq, from, num)
				require.False(t, seen[tg], "tag(%d, %d, %d) repeats", seq, from, num)
				seen[tg] = true
			}
		}
	}
}

// A server in another process (here: this one, bench and all) has its CPU
// measured while the messages go.
func TestRunMeasuresTheCPUOfAServerProcess(t *testing.T) {
	e := startTestServer(t, 4)
	cfg := tinyConfig(e.Addr())
	cfg.Probe = ProcessProbe{PID: os.Getpid()}
	res := runTest(t, cfg)

	assert.True(t, res.Verify.OK, "problems: %v", res.Verify.Problems)
	cpu := res.Send.ServerCPU
	require.NotNil(t, cpu)
	assert.GreaterOrEqual(t, cpu.Seconds, 0.0)
	assert.Positive(t, cpu.WallSeconds)
	assert.InDelta(t, cpu.Seconds*1e6/40, cpu.PerAcceptedMicros, 0.001, "over the 40 messages accepted")
	assert.Positive(t, cpu.TickMicros)
	var table strings.Builder
	require.NoError(t, res.WriteTable(&table))
	assert.Contains(t, table.String(), "µs per accepted message")

	ck := res.Checkin.ServerCPU
	require.NotNil(t, ck, "and while the campers check in")
	assert.InDelta(t, ck.Seconds*1e6/float64(res.Checkin.Count), ck.PerAcceptedMicros, 0.001, "per checkin")
	assert.Contains(t, table.String(), "µs per checkin")
	require.NotNil(t, res.Checkin.BenchCPU, "the bench's own, apart")
	assert.GreaterOrEqual(t, res.Checkin.BenchCPU.Seconds, 0.0)
}

func TestProcessProbeReadsThisProcess(t *testing.T) {
	u, err := ProcessProbe{PID: os.Getpid()}.Sample()
	require.NoError(t, err)
	assert.Positive(t, u.RSSBytes)
	assert.Equal(t, -1, u.Goroutines, "another process's goroutines are not visible")
}

func TestRunWaitsForItsGoFileAfterSayingItIsReady(t *testing.T) {
	e := startTestServer(t, 4)
	dir := t.TempDir()
	cfg := tinyConfig(e.Addr())
	cfg.ReadyFile, cfg.GoFile = dir+"/ready", dir+"/go"
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		res, err := Run(ctx, cfg)
		done <- outcome{res, err}
	}()
	require.Eventually(t, func() bool { _, err := os.Stat(cfg.ReadyFile); return err == nil },
		testTimeout, 10*time.Millisecond, "everyone checked in, sessions started")
	select {
	case <-done:
		t.Fatal("the run went on without its go file")
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, os.WriteFile(cfg.GoFile, nil, 0o644))
	got := <-done
	require.NoError(t, got.err)
	assert.True(t, got.res.Verify.OK, "%+v", got.res.Verify)
	assert.Equal(t, int64(2*4*5), got.res.Send.Accepted)
}
