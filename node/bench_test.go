package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/node"
	"github.com/campbus/campbus/wire"
)

// These benchmarks time whole requests through a real node, over TCP on
// loopback: front-end, bus, handler, JetStream where the command needs it.
// They report allocations of the whole process (server and the benchmark's
// own client), per operation.

// benchIDs admits enough five-digit ids for parallel benchmarks.
var benchIDs = campbus.MustParseIDRange("J00001-J20000")

func startBenchNode(b *testing.B, tune ...func(*node.Options)) *node.Node {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := node.Options{
		Addr:     "127.0.0.1:0",
		DataDir:  b.TempDir(),
		CampIDs:  benchIDs,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		NATSAddr: "",
	}
	for _, f := range tune {
		f(&opts)
	}
	n, err := node.Start(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	return n
}

// benchCamper is a bare wire-protocol client: no goroutine, it reads
// frames when told to.
type benchCamper struct {
	b    *testing.B
	conn net.Conn
	r    *wire.Reader
	buf  []byte
}

func dialBench(b *testing.B, n *node.Node) *benchCamper {
	b.Helper()
	conn, err := net.DialTimeout("tcp", n.Addr().String(), 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	return newBenchCamper(b, conn)
}

// newBenchCamper speaks on conn, which it closes when the benchmark ends.
func newBenchCamper(b *testing.B, conn net.Conn) *benchCamper {
	b.Cleanup(func() { conn.Close() })
	return &benchCamper{b: b, conn: conn, r: wire.NewReader(conn, wire.Limits{MaxBodyBytes: 1 << 20})}
}

func (c *benchCamper) write(command string, body []byte) {
	c.buf = wire.AppendRequest(c.buf[:0], command, "", body)
	if _, err := c.conn.Write(c.buf); err != nil {
		c.b.Fatal(err)
	}
}

// next reads the next frame within 10 s.
func (c *benchCamper) next() *wire.Frame {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := c.r.ReadFrame()
	if err != nil {
		c.b.Fatal(err)
	}
	return f
}

// response reads frames until a response, requires 200, and returns it;
// events read on the way are dropped.
func (c *benchCamper) response(command string) *wire.Frame {
	for {
		f := c.next()
		if f.IsEvent() {
			continue
		}
		if f.Status != 200 {
			c.b.Fatalf("%s: %d %s", command, f.Status, f.Body)
		}
		return f
	}
}

func (c *benchCamper) do(command string, body string) *wire.Frame {
	c.write(command, []byte(body))
	return c.response(command)
}

// event reads frames until an event of type typ.
func (c *benchCamper) event(typ string) *wire.Frame {
	for {
		f := c.next()
		if f.IsEvent() && f.Name() == typ {
			return f
		}
	}
}

func (c *benchCamper) checkin(id string) campbus.CheckinResponse {
	var r campbus.CheckinResponse
	f := c.do(campbus.CmdCheckin, fmt.Sprintf(`{"campId":%q}`, id))
	if err := json.Unmarshal(f.Body, &r); err != nil {
		c.b.Fatal(err)
	}
	return r
}

// BenchmarkMissionRoundTrip is one request at a time through the front-end,
// the bus and a handler that needs no JetStream: the fixed cost of a request.
func BenchmarkMissionRoundTrip(b *testing.B) {
	missionRoundTrips(b, dialBench(b, startBenchNode(b)))
}

// missionRoundTrips checks c in, then times one mission request at a time.
func missionRoundTrips(b *testing.B, c *benchCamper) {
	c.checkin(benchIDs.Format(1))
	body := []byte(`{"day":4}`)
	b.ReportAllocs()
	for b.Loop() {
		c.write(campbus.CmdMission, body)
		c.response(campbus.CmdMission)
	}
}

// BenchmarkMissionRoundTripParallel runs mission requests from several
// campers at once (GOMAXPROCS×4 connections, one request each in flight):
// the request throughput of the front-end, bus and handlers.
func BenchmarkMissionRoundTripParallel(b *testing.B) {
	n := startBenchNode(b)
	var next atomic.Int64
	body := []byte(`{"day":4}`)
	b.SetParallelism(4)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := dialBench(b, n)
		c.checkin(benchIDs.Format(int(next.Add(1))))
		for pb.Next() {
			c.write(campbus.CmdMission, body)
			c.response(campbus.CmdMission)
		}
	})
}

// groupOf4 checks in four campers, who share group 1, and has the first
// start a session of maxCount messages.
func groupOf4(b *testing.B, n *node.Node, maxCount int) []*benchCamper {
	b.Helper()
	cs := make([]*benchCamper, 4)
	for i := range cs {
		cs[i] = dialBench(b, n)
		if r := cs[i].checkin(benchIDs.Format(i + 1)); r.Group != 1 {
			b.Fatalf("camper %d seated in group %d", i, r.Group)
		}
	}
	startSession(b, cs, maxCount)
	return cs
}

// startSession has cs[0] start a session and the others see it begin.
func startSession(b *testing.B, cs []*benchCamper, maxCount int) {
	b.Helper()
	cs[0].do(campbus.CmdPeerSession, fmt.Sprintf(`{"maxCount":%d}`, maxCount))
	for _, c := range cs[1:] {
		c.event(campbus.EventPeerSession)
	}
}

// BenchmarkMessageGroupOf4 sends one message at a time in a group of four
// and waits until the other three have it: send → response and delivery to
// all, the latency of one message with nothing else going on.
func BenchmarkMessageGroupOf4(b *testing.B) {
	const maxCount = 10000
	n := startBenchNode(b)
	cs := groupOf4(b, n, maxCount)
	body := []byte(`{"text":"` + strings.Repeat("x", 128) + `"}`)
	sent := 0
	b.ReportAllocs()
	for b.Loop() {
		if sent == maxCount {
			// The session is used up: start another, untimed.
			b.StopTimer()
			cs[0].do(campbus.CmdComplete, "")
			for _, c := range cs[1:] {
				c.event(campbus.EventComplete)
			}
			startSession(b, cs, maxCount)
			sent = 0
			b.StartTimer()
		}
		cs[0].write(campbus.CmdMessage, body)
		cs[0].response(campbus.CmdMessage)
		for _, c := range cs[1:] {
			c.event(campbus.EventMessage)
		}
		sent++
	}
}
