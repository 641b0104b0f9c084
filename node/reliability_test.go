package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/session"
	"github.com/campbus/campbus/tcpfront"
	"github.com/campbus/campbus/wire"
)

// startSession starts a peer session hosted by cs[0] and waits until the
// others heard of it.
func startSession(t *testing.T, cs []*camper, maxCount int) {
	t.Helper()
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": maxCount}, nil)
	for _, c := range cs[1:] {
		c.expect(campbus.EventPeerSession)
	}
}

func TestAFrozenReaderIsDisconnectedAndTheGroupGoesOn(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n := startNode(t, Options{Sessions: session.Options{OutboundFrames: 64, OutboundBytes: 64 << 10}})
	cs := group(t, n, "J001", "J002", "J003")

	// J004 checks in and then never reads again.
	frozen, err := net.Dial("tcp", n.Addr().String())
	require.NoError(t, err)
	defer frozen.Close()
	require.NoError(t, frozen.(*net.TCPConn).SetReadBuffer(4096))
	_, err = frozen.Write(wire.AppendRequest(nil, campbus.CmdCheckin, "", []byte(`{"campId":"J004"}`)))
	require.NoError(t, err)
	for _, c := range cs {
		require.Equal(t, "J004", c.expect(campbus.EventJoin).CampID)
	}
	startSession(t, cs, 10000)

	// The others chat until the server gives up on J004; every message of
	// theirs still reaches the other two.
	text := strings.Repeat("x", 900)
	sent := 0
	heard := map[*camper]bool{} // who heard that J004 was checked out
	for len(heard) < len(cs) {
		require.Less(t, sent, 9000, "the frozen camper was never disconnected")
		from := cs[sent%3]
		from.ok(campbus.CmdMessage, map[string]string{"text": text}, nil)
		sent++
		for _, c := range cs {
			if c == from {
				continue
			}
			for {
				ev := c.event()
				if ev.Type == campbus.EventCheckout {
					require.Equal(t, "J004", ev.CampID)
					require.Equal(t, campbus.ReasonDisconnect, ev.Reason)
					heard[c] = true
					continue
				}
				require.Equal(t, campbus.EventMessage, ev.Type)
				require.Equal(t, from.id, ev.From)
				break
			}
		}
	}
	assert.Equal(t, uint64(1), n.SessionStats().SlowConsumers, "counted once")
	t.Logf("J004 was disconnected after %d messages of 900 bytes", sent)
	// The group chats on.
	cs[1].ok(campbus.CmdMessage, map[string]string{"text": "still here"}, nil)
	assert.Equal(t, "still here", cs[0].expect(campbus.EventMessage).Text)
	assert.Equal(t, "still here", cs[2].expect(campbus.EventMessage).Text)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
	for _, c := range cs {
		c.closed()
	}
}

func TestHostileConnectionsNeverDisturbAChattingGroup(t *testing.T) {
	const hostile, messages = 1000, 60
	n := startNode(t, Options{
		Front:    tcpfront.Options{FrameTimeout: 500 * time.Millisecond},
		Sessions: session.Options{CheckinTimeout: 3 * time.Second, Rate: 50, Burst: 20},
	})
	cs := group(t, n, "J001", "J002", "J003", "J004")
	startSession(t, cs, messages)

	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	count := func(what string) { mu.Lock(); outcomes[what]++; mu.Unlock() }
	for i := 0; i < hostile; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", n.Addr().String(), waitFor)
			if err != nil {
				count("dial error")
				return
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(waitFor))
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			switch i % 4 {
			case 0: // random bytes
				junk := make([]byte, 1+rng.IntN(3000))
				for k := range junk {
					junk[k] = byte(rng.IntN(256))
				}
				_, _ = conn.Write(append(junk, "\r\n\r\n"...))
			case 1: // half a frame, then silence
				_, _ = conn.Write([]byte("POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"campId\""))
			case 2: // a flood of pipelined requests
				var raw []byte
				for k := 0; k < 200; k++ {
					raw = wire.AppendRequest(raw, campbus.CmdMission, "", []byte(`{"day":4}`))
				}
				_, _ = conn.Write(raw)
			case 3: // a client that leaves mid-frame
				_, _ = conn.Write([]byte("POST /mess"))
				return
			}
			// Read whatever comes until the server closes.
			r := wire.NewReader(conn, wire.Limits{MaxBodyBytes: 1 << 20})
			for {
				f, err := r.ReadFrame()
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						count("never closed")
					}
					return
				}
				count(fmt.Sprint(f.Status))
			}
		}()
	}

	// Meanwhile the group chats: every message reaches the three others.
	for k := 0; k < messages; k++ {
		from := cs[k%4]
		from.ok(campbus.CmdMessage, map[string]string{"text": fmt.Sprint("m", k)}, nil)
		for _, c := range cs {
			if c != from {
				ev := c.expect(campbus.EventMessage)
				require.Equal(t, fmt.Sprint("m", k), ev.Text)
			}
		}
	}
	wg.Wait()
	t.Logf("hostile outcomes (status: frames seen): %v; front stats %+v", outcomes, n.SessionStats())
	assert.Zero(t, outcomes["never closed"], "every hostile connection was closed by the server")
	assert.Zero(t, outcomes["dial error"])
	assert.Positive(t, outcomes["400"], "random bytes get 400 malformed")
	assert.Positive(t, outcomes["429"], "floods get 429 rate-limited")
	assert.Positive(t, outcomes["403"], "the first requests of a flood get 403 not-checked-in")
	// Under load some half frames may meet the checkin deadline first;
	// either way the server cut them.
	stats := n.SessionStats()
	assert.Positive(t, stats.FrameTimeouts, "half frames time out")
	assert.GreaterOrEqual(t, stats.FrameTimeouts+stats.CheckinTimeouts, uint64(hostile/2),
		"every half frame and every flood that never checked in was cut by a deadline")
}

func TestAConnectionThatNeverChecksInIsClosed(t *testing.T) {
	n := startNode(t, Options{Sessions: session.Options{CheckinTimeout: 300 * time.Millisecond}})
	idle := dial(t, n)
	busy := dial(t, n)
	busy.checkin("J001")
	idle.closed()
	assert.Equal(t, uint64(1), n.SessionStats().CheckinTimeouts)
	// Checked in, a camper may stay quiet past the checkin deadline.
	time.Sleep(400 * time.Millisecond) // time passing is what is tested
	busy.ok(campbus.CmdMission, map[string]int{"day": 1}, nil)
}

func TestASlowLorisFrameIsCut(t *testing.T) {
	n := startNode(t, Options{Front: tcpfront.Options{FrameTimeout: 300 * time.Millisecond}})
	c := dial(t, n)
	c.checkin("J001")
	c.send("POST /mission HTTP/1.1\r\nContent-Len")
	c.closed()
	assert.Equal(t, uint64(1), n.SessionStats().FrameTimeouts)
}

func TestConnectionsPastTheMaximumAreRefused(t *testing.T) {
	n := startNode(t, Options{Sessions: session.Options{MaxConns: 2}})
	a, b := dial(t, n), dial(t, n)
	a.checkin("J001")
	b.checkin("J002")
	extra := dial(t, n)
	requireError(t, extra.response(), 503, campbus.CodeTooManyConnections)
	extra.closed()
	assert.Equal(t, uint64(1), n.SessionStats().TooManyConns)
	// A seat frees when someone leaves.
	a.ok(campbus.CmdCheckout, nil, nil)
	a.closed()
	require.Eventually(t, func() bool { return n.Conns() == 1 }, waitFor, 10*time.Millisecond)
	dial(t, n).checkin("J003")
}

func TestRequestsPastTheRateAreRefusedAndTheConnectionStays(t *testing.T) {
	// A token a second: the five requests come well within one refill,
	// even on a loaded machine.
	n := startNode(t, Options{Sessions: session.Options{Rate: 1, Burst: 3}})
	c := dial(t, n)
	c.checkin("J001") // one token
	var raw []byte
	for k := 0; k < 5; k++ {
		raw = wire.AppendRequest(raw, campbus.CmdMission, "", []byte(`{"day":4}`))
	}
	c.send(string(raw))
	statuses := []int{}
	for k := 0; k < 5; k++ {
		statuses = append(statuses, c.response().Status)
	}
	assert.Equal(t, []int{200, 200, 429, 429, 429}, statuses)
	require.Eventually(t, func() bool {
		return c.do(campbus.CmdMission, map[string]int{"day": 4}).Status == 200
	}, waitFor, 60*time.Millisecond, "the bucket refills")
}

func TestShutdownWithTrafficInFlight(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, Options{DataDir: dir})
	cs := group(t, n, "J001", "J002", "J003", "J004")
	startSession(t, cs, 10000)
	for i, c := range cs {
		var raw []byte
		for k := 0; k < 50; k++ {
			raw = wire.AppendRequest(raw, campbus.CmdMessage, "", []byte(fmt.Sprintf(`{"text":"%d-%d"}`, i, k)))
		}
		c.send(string(raw))
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
	for _, c := range cs {
		// Whatever was answered was answered properly; then the shutdown
		// event, then the close.
		c.closed()
		for len(c.responses) > 0 {
			f := <-c.responses
			if f.Status != 200 {
				requireError(t, f, 503, campbus.CodeShuttingDown)
			}
		}
		// The shutdown event came; after it, only the outcome of requests
		// already in flight (messages) and news of others leaving.
		sawShutdown := false
		for len(c.events) > 0 {
			name := (<-c.events).Name()
			if sawShutdown {
				assert.Contains(t, []string{campbus.EventMessage, campbus.EventCheckout, campbus.EventComplete}, name)
			}
			sawShutdown = sawShutdown || name == campbus.EventShutdown
		}
		assert.True(t, sawShutdown, "%s got a shutdown event", c.id)
	}
	assert.ElementsMatch(t, []string{"J001", "J002", "J003", "J004"}, checkoutsInLog(t, dir), "everyone was checked out")
}

func TestGarbageFromAnOperatorNeverReachesACamper(t *testing.T) {
	n := startNode(t, Options{NATSAddr: "127.0.0.1:0", OperatorPassword: "op"})
	cs := group(t, n, "J001", "J002")
	startSession(t, cs, 5)
	op, err := nats.Connect(n.NATSURL(), nats.UserInfo("operator", "op"))
	require.NoError(t, err)
	defer op.Close()
	for _, junk := range []string{"not json", `[1,2,3]`, `{"type":"BAD TYPE"}`, `{"type":""}`, "\x00\xff", `{"type":"message","text":"\r\n\r\nEVENT /x HTTP/1.1"`} {
		require.NoError(t, op.Publish("group.1", []byte(junk)))
		require.NoError(t, op.Publish("camper.J002", []byte(junk)))
	}
	require.NoError(t, op.Flush())
	cs[0].ok(campbus.CmdMessage, map[string]string{"text": "real"}, nil)
	ev := cs[1].event()
	assert.Equal(t, campbus.EventMessage, ev.Type)
	assert.Equal(t, "real", ev.Text, "the garbage was dropped, the real message came through whole")
}
