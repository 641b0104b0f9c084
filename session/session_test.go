package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// fakeTransport is a camper in memory: the test feeds requests and reads
// the frames the session wrote, decoded.
type fakeTransport struct {
	in     chan *Request
	woken  chan struct{}
	wake   sync.Once
	mu     sync.Mutex
	out    []frame
	closed CloseReason
	isDone bool
	wrote  chan struct{} // a token per Write
	block  chan struct{} // when set, Write waits on it (a reader that stopped reading)
}

type frame struct {
	Kind   string // "response" or "event"
	Status int
	ID     string
	Type   string
	Body   json.RawMessage
}

type fakeCodec struct{}

func (fakeCodec) Response(status int, reqID string, body []byte) []byte {
	b, _ := json.Marshal(frame{Kind: "response", Status: status, ID: reqID, Body: body})
	return b
}

func (fakeCodec) Event(typ string, body []byte) []byte {
	b, _ := json.Marshal(frame{Kind: "event", Type: typ, Body: body})
	return b
}

func newFake() *fakeTransport {
	return &fakeTransport{in: make(chan *Request, 16), woken: make(chan struct{}), wrote: make(chan struct{}, 1024)}
}

func (f *fakeTransport) Next(idle time.Time) (*Request, error) {
	var timeout <-chan time.Time
	if !idle.IsZero() {
		timeout = time.After(time.Until(idle))
	}
	select {
	case r, ok := <-f.in:
		if !ok {
			return nil, io.EOF
		}
		return r, nil
	case <-f.woken:
		return nil, ErrWoken
	case <-timeout:
		return nil, ErrIdle
	}
}

func (f *fakeTransport) Write(frames [][]byte, timeout time.Duration) error {
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-time.After(timeout):
			return errTimeout{}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.isDone {
		return errors.New("closed")
	}
	for _, b := range frames {
		var fr frame
		if err := json.Unmarshal(b, &fr); err != nil {
			return err
		}
		f.out = append(f.out, fr)
	}
	f.wrote <- struct{}{}
	return nil
}

type errTimeout struct{}

func (errTimeout) Error() string { return "write timed out" }
func (errTimeout) Timeout() bool { return true }

func (f *fakeTransport) Wake() { f.wake.Do(func() { close(f.woken) }) }

func (f *fakeTransport) Close(why CloseReason) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.isDone {
		f.isDone, f.closed = true, why
	}
	return nil
}

func (f *fakeTransport) Codec() Codec       { return fakeCodec{} }
func (f *fakeTransport) Name() string       { return "fake" }
func (f *fakeTransport) RemoteAddr() string { return "fake:1" }

func (f *fakeTransport) frames() []frame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]frame(nil), f.out...)
}

// waitFrames waits until n frames were written.
func (f *fakeTransport) waitFrames(t *testing.T, n int) []frame {
	t.Helper()
	require.Eventually(t, func() bool { return len(f.frames()) >= n }, 5*time.Second, time.Millisecond, "%d frames", n)
	return f.frames()
}

func (f *fakeTransport) closedWith() (bool, CloseReason) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.isDone, f.closed
}

// fakeCamp answers the hub's requests on a bare NATS server as the
// handlers would, from a map of who is checked in, and lets a test publish
// events.
type fakeCamp struct {
	t      *testing.T
	nc     *nats.Conn
	mu     sync.Mutex
	holder map[string]string // campId -> conn
	seen   []*bus.Request
	// holdMessages, when set, holds message requests until that many have
	// come, then answers them newest first, each with its own text.
	holdMessages int
	held         []*nats.Msg
	// failCheckouts fails that many checkouts to come with 500 internal.
	failCheckouts int
	// storedButUnavailable stores that many checkins to come and answers
	// them 503 unavailable, as when the store's answer was lost.
	storedButUnavailable int
	// checkoutGate, when set, holds every checkout until it is closed.
	checkoutGate chan struct{}
}

func startCamp(t *testing.T) (*fakeCamp, *nats.Conn) {
	t.Helper()
	ns, err := server.NewServer(&server.Options{DontListen: true, NoSigs: true})
	require.NoError(t, err)
	ns.Start()
	require.True(t, ns.ReadyForConnections(5*time.Second))
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	connect := func() *nats.Conn {
		nc, err := nats.Connect("", nats.InProcessServer(ns))
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		return nc
	}
	c := &fakeCamp{t: t, nc: connect(), holder: map[string]string{}}
	_, err = c.nc.Subscribe(bus.ReqPrefix+"*", c.answer)
	require.NoError(t, err)
	require.NoError(t, c.nc.Flush())
	return c, connect()
}

func (c *fakeCamp) answer(m *nats.Msg) {
	r := bus.ParseRequest(m)
	c.mu.Lock()
	c.seen = append(c.seen, r)
	reply := &bus.Reply{Status: 200, Body: []byte(`{}`)}
	fail := func(status int, code string) {
		reply = &bus.Reply{Status: status, Code: code, Body: []byte(fmt.Sprintf(`{"code":%q,"error":"x"}`, code))}
	}
	switch r.Command {
	case campbus.CmdCheckin:
		id := checkinID(r.Body)
		if r.Token.Needed() && r.Token.For != id { // as the handler's tokenAdmits
			fail(http.StatusUnauthorized, campbus.CodeBadToken)
			break
		}
		if c.holder[id] != "" {
			fail(http.StatusConflict, campbus.CodeCampIDInUse)
			break
		}
		c.holder[id] = r.Conn
		if c.storedButUnavailable > 0 {
			c.storedButUnavailable--
			fail(http.StatusServiceUnavailable, campbus.CodeUnavailable)
			break
		}
		reply = &bus.Reply{Status: 200, CampID: id, Group: 1, Body: []byte(fmt.Sprintf(`{"campId":%q,"group":1}`, id))}
	case campbus.CmdCheckout:
		if gate := c.checkoutGate; gate != nil {
			c.mu.Unlock()
			<-gate
			c.mu.Lock()
		}
		if c.failCheckouts > 0 {
			c.failCheckouts--
			fail(http.StatusInternalServerError, campbus.CodeInternal)
			break
		}
		if c.holder[r.CampID] != r.Conn {
			fail(http.StatusForbidden, campbus.CodeNotCheckedIn)
			break
		}
		delete(c.holder, r.CampID)
	case campbus.CmdMessage:
		if c.holdMessages > 0 {
			c.held = append(c.held, m)
			if len(c.held) < c.holdMessages {
				c.mu.Unlock()
				return
			}
			held := c.held
			c.held = nil
			c.mu.Unlock()
			for i := len(held) - 1; i >= 0; i-- {
				reply := &bus.Reply{Status: 200, Body: bus.ParseRequest(held[i]).Body}
				msg := reply.Msg()
				msg.Subject = held[i].Reply
				_ = held[i].RespondMsg(msg)
			}
			return
		}
		if c.holder[r.CampID] != r.Conn {
			fail(http.StatusForbidden, campbus.CodeNotCheckedIn)
		}
	default:
		if c.holder[r.CampID] != r.Conn {
			fail(http.StatusForbidden, campbus.CodeNotCheckedIn)
		}
	}
	c.mu.Unlock()
	msg := reply.Msg()
	msg.Subject = m.Reply
	_ = m.RespondMsg(msg)
}

// event publishes a group event as the log's republish would.
func (c *fakeCamp) groupEvent(n int, meta bus.EventMeta, body string) {
	require.NoError(c.t, c.nc.PublishMsg(&nats.Msg{Subject: bus.GroupSubject(n), Header: meta.Header(), Data: []byte(body)}))
	require.NoError(c.t, c.nc.Flush())
}

func startHub(t *testing.T, opts Options) (*Hub, *fakeCamp) {
	t.Helper()
	camp, nc := startCamp(t)
	opts.Instance = bus.Instance{Node: "n1", Run: "r"}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := NewHub(nc, opts)
	require.NoError(t, h.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	return h, camp
}

// serve runs a session over a new fake transport.
func serve(h *Hub) (*fakeTransport, chan struct{}) {
	f := newFake()
	done := make(chan struct{})
	go func() { defer close(done); h.Serve(f) }()
	return f, done
}

// connOf returns the connection id of the session checked in as campID.
func connOf(h *Hub, campID string) string {
	for conn, id := range h.CheckedIn() {
		if id == campID {
			return conn
		}
	}
	return ""
}

func body(v any) []byte { b, _ := json.Marshal(v); return b }

func TestASessionGoesThroughItsStates(t *testing.T) {
	h, camp := startHub(t, Options{})
	f, done := serve(h)

	f.in <- &Request{Command: campbus.CmdMission, ID: "1", Body: body(map[string]int{"day": 4})}
	fr := f.waitFrames(t, 1)
	assert.Equal(t, 403, fr[0].Status, "nothing but checkin before checkin")
	assert.Equal(t, "1", fr[0].ID)

	f.in <- &Request{Command: campbus.CmdCheckin, ID: "2", Body: body(campbus.CheckinRequest{CampID: "J004"})}
	fr = f.waitFrames(t, 2)
	assert.Equal(t, 200, fr[1].Status)
	assert.Equal(t, map[string]string{"n1.r.1": "J004"}, h.CheckedIn())

	f.in <- &Request{Command: campbus.CmdCheckin, ID: "3", Body: body(campbus.CheckinRequest{CampID: "J005"})}
	fr = f.waitFrames(t, 3)
	assert.Equal(t, 409, fr[2].Status, "already checked in")

	f.in <- &Request{Command: "dance", ID: "4"}
	fr = f.waitFrames(t, 4)
	assert.Equal(t, 404, fr[3].Status)
	assert.Contains(t, string(fr[3].Body), "history", "the sentence lists every command")

	f.in <- &Request{Command: campbus.CmdMission, Method: "GET", ID: "5"}
	fr = f.waitFrames(t, 5)
	assert.Equal(t, 405, fr[4].Status)

	f.in <- &Request{Command: campbus.CmdCheckout, ID: "6"}
	fr = f.waitFrames(t, 6)
	assert.Equal(t, 200, fr[5].Status)
	<-done
	closed, why := f.closedWith()
	assert.True(t, closed)
	assert.Equal(t, CloseNormal, why)
	assert.Empty(t, h.CheckedIn())
	assert.Empty(t, camp.holder, "checked out in the camp")
}

func TestAPeerThatLeavesIsCheckedOutOnce(t *testing.T) {
	h, camp := startHub(t, Options{})
	f, done := serve(h)
	f.in <- &Request{Command: campbus.CmdCheckin, ID: "1", Body: body(campbus.CheckinRequest{CampID: "J004"})}
	f.waitFrames(t, 1)
	close(f.in) // the peer is gone
	<-done
	camp.mu.Lock()
	defer camp.mu.Unlock()
	var checkouts []string
	for _, r := range camp.seen {
		if r.Command == campbus.CmdCheckout {
			checkouts = append(checkouts, r.CampID+" "+r.Reason)
		}
	}
	assert.Equal(t, []string{"J004 disconnect"}, checkouts)
	assert.Empty(t, camp.holder)
	assert.Zero(t, h.Conns())
}

func TestACheckoutAfterADisconnectThatFailsIsTriedAgain(t *testing.T) {
	h, camp := startHub(t, Options{})
	f, done := serve(h)
	f.in <- &Request{Command: campbus.CmdCheckin, ID: "1", Body: body(campbus.CheckinRequest{CampID: "J004"})}
	f.waitFrames(t, 1)
	camp.mu.Lock()
	camp.failCheckouts = 2 // a stream electing its leader, say
	camp.mu.Unlock()
	close(f.in) // the peer is gone
	<-done
	camp.mu.Lock()
	defer camp.mu.Unlock()
	checkouts := 0
	for _, r := range camp.seen {
		if r.Command == campbus.CmdCheckout {
			checkouts++
		}
	}
	assert.Equal(t, 3, checkouts, "two failures, then the checkout that releases the id")
	assert.Empty(t, camp.holder, "checked out in the camp")
	assert.Zero(t, h.Conns())
}

func TestACheckinAnswered503IsTakenBackAfterTheCamperHasItsAnswer(t *testing.T) {
	h, camp := startHub(t, Options{})
	gate := make(chan struct{})
	camp.mu.Lock()
	camp.storedButUnavailable = 1 // stored, but the answer came too late
	camp.checkoutGate = gate
	camp.mu.Unlock()
	f, done := serve(h)
	f.in <- &Request{Command: campbus.CmdCheckin, ID: "1", Body: body(campbus.CheckinRequest{CampID: "J004"})}
	// The answer comes while the take-back is still held at the camp.
	fr := f.waitFrames(t, 1)[0]
	assert.Equal(t, http.StatusServiceUnavailable, fr.Status)
	assert.Contains(t, string(fr.Body), campbus.CodeUnavailable)
	close(gate)
	// The next checkin on the connection comes after the take-back.
	f.in <- &Request{Command: campbus.CmdCheckin, ID: "2", Body: body(campbus.CheckinRequest{CampID: "J004"})}
	assert.Equal(t, 200, f.waitFrames(t, 2)[1].Status, "the id was released, and this checkin takes it")
	close(f.in)
	<-done
	camp.mu.Lock()
	defer camp.mu.Unlock()
	var commands []string
	for _, r := range camp.seen {
		commands = append(commands, r.Command)
	}
	assert.Equal(t, []string{campbus.CmdCheckin, campbus.CmdCheckout, campbus.CmdCheckin, campbus.CmdCheckout}, commands,
		"the 503's checkin taken back before the next request, and the second checked out at the disconnect")
	assert.Empty(t, camp.holder)
}

func TestEventsReachTheGroupButNotTheirOrigin(t *testing.T) {
	h, camp := startHub(t, Options{})
	a, _ := serve(h)
	b, _ := serve(h)
	a.in <- &Request{Command: campbus.CmdCheckin, Body: body(campbus.CheckinRequest{CampID: "J001"})}
	a.waitFrames(t, 1)
	camp.groupEvent(1, bus.EventMeta{Type: campbus.EventJoin, Origin: "J001", Conn: connOf(h, "J001")}, `{"type":"join","campId":"J001"}`)
	b.in <- &Request{Command: campbus.CmdCheckin, Body: body(campbus.CheckinRequest{CampID: "J002"})}
	b.waitFrames(t, 1)
	camp.groupEvent(1, bus.EventMeta{Type: campbus.EventJoin, Origin: "J002", Conn: connOf(h, "J002")}, `{"type":"join","campId":"J002"}`)
	fa := a.waitFrames(t, 2)
	assert.Equal(t, "join", fa[1].Type, "J001 hears J002 join")

	camp.groupEvent(1, bus.EventMeta{Type: campbus.EventMessage, Origin: "J001"}, `{"type":"message","from":"J001"}`)
	fb := b.waitFrames(t, 2)
	assert.Equal(t, "message", fb[1].Type)
	// Garbage on the bus never reaches anyone.
	camp.groupEvent(1, bus.EventMeta{}, `not json`)
	camp.groupEvent(1, bus.EventMeta{Type: campbus.EventMessage, Origin: "J002"}, `{"type":"message","from":"J002"}`)
	fa = a.waitFrames(t, 3)
	assert.Equal(t, `{"type":"message","from":"J002"}`, string(fa[2].Body))
	assert.Len(t, b.frames(), 2, "the sender gets no copy of its own message")
}

func TestASlowCamperIsCutAndCounted(t *testing.T) {
	h, camp := startHub(t, Options{OutboundFrames: 4, WriteTimeout: time.Second})
	f, done := serve(h)
	f.in <- &Request{Command: campbus.CmdCheckin, Body: body(campbus.CheckinRequest{CampID: "J001"})}
	f.waitFrames(t, 1)
	camp.groupEvent(1, bus.EventMeta{Type: campbus.EventJoin, Origin: "J001", Conn: connOf(h, "J001")}, `{"type":"join"}`)
	block := make(chan struct{}) // it stops reading
	f.mu.Lock()
	f.block = block
	f.mu.Unlock()
	for i := range 20 {
		camp.groupEvent(1, bus.EventMeta{Type: campbus.EventMessage, Origin: "J002"}, fmt.Sprintf(`{"type":"message","seq":%d}`, i))
	}
	close(block)
	<-done
	assert.Equal(t, uint64(1), h.Stats().SlowConsumers)
	closed, why := f.closedWith()
	assert.True(t, closed)
	assert.Equal(t, CloseTooSlow, why)
}

func TestACamperWhoNeverChecksInIsClosed(t *testing.T) {
	h, _ := startHub(t, Options{CheckinTimeout: 50 * time.Millisecond})
	_, done := serve(h)
	<-done
	assert.Equal(t, uint64(1), h.Stats().CheckinTimeouts)
}

func TestRequestsPastTheRateAreRefused(t *testing.T) {
	h, _ := startHub(t, Options{Rate: 1, Burst: 2})
	f, _ := serve(h)
	for i := range 4 {
		f.in <- &Request{Command: campbus.CmdMission, ID: fmt.Sprint(i)}
	}
	fr := f.waitFrames(t, 4)
	assert.Equal(t, []int{403, 403, 429, 429}, []int{fr[0].Status, fr[1].Status, fr[2].Status, fr[3].Status})
	assert.Equal(t, uint64(2), h.Stats().RateLimited)
}

func TestPastMaxConnsACamperIsRefusedAtOnce(t *testing.T) {
	h, _ := startHub(t, Options{MaxConns: 1})
	serve(h)
	require.Eventually(t, func() bool { return h.Conns() == 1 }, 5*time.Second, time.Millisecond)
	f, done := serve(h)
	<-done
	fr := f.frames()
	require.Len(t, fr, 1)
	assert.Equal(t, 503, fr[0].Status)
	assert.Contains(t, string(fr[0].Body), campbus.CodeTooManyConnections)
	_, why := f.closedWith()
	assert.Equal(t, ClosePolicy, why)
}

func TestShutdownTellsEveryCamperAndChecksThemOut(t *testing.T) {
	h, camp := startHub(t, Options{})
	f, done := serve(h)
	f.in <- &Request{Command: campbus.CmdCheckin, Body: body(campbus.CheckinRequest{CampID: "J001"})}
	f.waitFrames(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, h.Shutdown(ctx))
	<-done
	fr := f.frames()
	assert.Equal(t, "shutdown", fr[len(fr)-1].Type)
	_, why := f.closedWith()
	assert.Equal(t, CloseGoingAway, why)
	assert.Empty(t, camp.holder)
	assert.False(t, h.Accepting())
}

func TestEvictClosesACamperTheCampNoLongerHolds(t *testing.T) {
	h, _ := startHub(t, Options{})
	f, done := serve(h)
	f.in <- &Request{Command: campbus.CmdCheckin, Body: body(campbus.CheckinRequest{CampID: "J001"})}
	f.waitFrames(t, 1)
	assert.False(t, h.Evict("n1.r.1", "J002"), "not as another campId")
	assert.True(t, h.Evict("n1.r.1", "J001"))
	<-done
	fr := f.frames()
	assert.Equal(t, "shutdown", fr[len(fr)-1].Type)
	assert.Contains(t, string(fr[len(fr)-1].Body), "connect and check in again")
	assert.Equal(t, uint64(1), h.Stats().Evicted)
}

func TestTheDropReasonsAreOneList(t *testing.T) {
	byReason := Stats{Evicted: 3}.ByReason()
	assert.Len(t, byReason, len(dropReasons))
	assert.Equal(t, uint64(3), byReason["evicted"])
}

// idleFake is a fakeTransport that says when nothing waits to be read, as
// tcpfront's transport does (session.Idler).
type idleFake struct {
	*fakeTransport
	idles atomic.Int32
}

func (f *idleFake) Idle() bool {
	if len(f.in) > 0 {
		return false
	}
	f.idles.Add(1)
	return true
}

func TestAnIdleCamperIsServedOnAFreshGoroutine(t *testing.T) {
	h, camp := startHub(t, Options{})
	f := &idleFake{fakeTransport: newFake()}
	served := make(chan struct{})
	go func() { defer close(served); h.Serve(f) }()

	f.in <- &Request{Command: campbus.CmdCheckin, ID: "1", Body: body(campbus.CheckinRequest{CampID: "J004"})}
	f.waitFrames(t, 1)
	select {
	case <-served: // the goroutine that checked in is gone; the session is not
	case <-time.After(5 * time.Second):
		t.Fatal("Serve kept its goroutine while the camper was idle")
	}
	assert.Equal(t, map[string]string{"n1.r.1": "J004"}, h.CheckedIn())

	for i := 2; i <= 4; i++ {
		f.in <- &Request{Command: campbus.CmdMission, ID: fmt.Sprint(i), Body: body(map[string]int{"day": 4})}
		fr := f.waitFrames(t, i)
		assert.Equal(t, 200, fr[i-1].Status, "request %d after the move", i)
	}
	assert.GreaterOrEqual(t, f.idles.Load(), int32(3), "a move at every idle spell")

	// Shutdown still waits for the moved session, which checks out.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, h.Shutdown(ctx))
	closed, why := f.closedWith()
	assert.True(t, closed)
	assert.Equal(t, CloseGoingAway, why)
	assert.Empty(t, camp.holder, "checked out by the goroutine the session moved to")
}

func TestAnIdleCamperWhoLeavesIsCheckedOut(t *testing.T) {
	h, camp := startHub(t, Options{})
	f := &idleFake{fakeTransport: newFake()}
	go h.Serve(f)
	f.in <- &Request{Command: campbus.CmdCheckin, ID: "1", Body: body(campbus.CheckinRequest{CampID: "J004"})}
	f.waitFrames(t, 1)
	require.Eventually(t, func() bool { return f.idles.Load() > 0 }, 5*time.Second, time.Millisecond)
	close(f.in) // the peer is gone while its reader waits on the fresh goroutine
	require.Eventually(t, func() bool { closed, _ := f.closedWith(); return closed }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return len(h.CheckedIn()) == 0 }, 5*time.Second, time.Millisecond)
	camp.mu.Lock()
	defer camp.mu.Unlock()
	assert.Empty(t, camp.holder)
}

// tryFake is a fakeTransport whose socket takes at most room bytes at
// once (session.TryWriter); the writer gets the rest.
type tryFake struct {
	*fakeTransport
	room  int
	tried atomic.Int32
	taken []byte // the bytes TryWrite took, not yet a whole frame
}

func (f *tryFake) TryWrite(frames [][]byte) (int, error) {
	f.tried.Add(1)
	n := 0
	for _, fr := range frames {
		k := min(len(fr), f.room-n)
		f.taken = append(f.taken, fr[:k]...)
		n += k
		if k < len(fr) {
			break
		}
	}
	// Whole frames taken go out as the fake's Write would record them.
	var whole [][]byte
	for {
		end := wholeFrame(f.taken)
		if end == 0 {
			break
		}
		whole = append(whole, f.taken[:end])
		f.taken = f.taken[end:]
	}
	if len(whole) > 0 {
		_ = f.fakeTransport.Write(whole, time.Second)
	}
	return n, nil
}

// wholeFrame returns the length of the whole fake frame that b starts
// with, 0 if there is none yet.
func wholeFrame(b []byte) int {
	for end := 0; end < len(b); {
		i := bytes.IndexByte(b[end:], '}')
		if i < 0 {
			return 0
		}
		end += i + 1
		if json.Valid(b[:end]) {
			return end
		}
	}
	return 0
}

func (f *tryFake) Write(frames [][]byte, timeout time.Duration) error {
	if len(f.taken) > 0 {
		// The frame TryWrite began: its rest comes first.
		frames = append([][]byte{append(f.taken, frames[0]...)}, frames[1:]...)
		f.taken = nil
	}
	return f.fakeTransport.Write(frames, timeout)
}

func TestFramesWrittenAtOnceOrByTheWriterKeepTheirOrder(t *testing.T) {
	for _, room := range []int{1 << 20, 0, 40} {
		t.Run(fmt.Sprint("room ", room), func(t *testing.T) {
			h, _ := startHub(t, Options{})
			f := &tryFake{fakeTransport: newFake(), room: room}
			go h.Serve(f)
			for i := 1; i <= 5; i++ {
				f.in <- &Request{Command: campbus.CmdMission, ID: fmt.Sprint(i), Body: body(map[string]int{"day": i})}
			}
			fr := f.waitFrames(t, 5)
			for i, x := range fr {
				assert.Equal(t, fmt.Sprint(i+1), x.ID, "frame %d in order", i)
				assert.Equal(t, 403, x.Status)
			}
			assert.Positive(t, f.tried.Load(), "written through TryWrite first")
		})
	}
}

func TestTheGroupWatcherSeesEveryGroupEventFirst(t *testing.T) {
	type seen struct {
		subject, typ, origin string
		delivered            int // frames the camper had when the watcher saw it
	}
	var mu sync.Mutex
	var got []seen
	var a *fakeTransport
	h, camp := startHub(t, Options{GroupWatcher: func(m *nats.Msg, meta bus.EventMeta) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, seen{m.Subject, meta.Type, meta.Origin, len(a.frames())})
	}})
	a, _ = serve(h)
	a.in <- &Request{Command: campbus.CmdCheckin, Body: body(campbus.CheckinRequest{CampID: "J001"})}
	a.waitFrames(t, 1)
	camp.groupEvent(1, bus.EventMeta{Type: campbus.EventJoin, Origin: "J001", Conn: connOf(h, "J001")}, `{"type":"join","campId":"J001"}`)
	camp.groupEvent(1, bus.EventMeta{Type: campbus.EventJoin, Origin: "J002"}, `{"type":"join","campId":"J002"}`)
	camp.groupEvent(7, bus.EventMeta{Type: campbus.EventCheckout, Origin: "J027"}, `{"type":"checkout","campId":"J027"}`)
	a.waitFrames(t, 2)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 3 }, 5*time.Second, time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, got[1].delivered, "J002's join is seen before J001 gets it")
	for i := range got {
		got[i].delivered = 0
	}
	assert.Equal(t, []seen{
		{"group.1", "join", "J001", 0},
		{"group.1", "join", "J002", 0},
		{"group.7", "checkout", "J027", 0}, // a group with nobody here too
	}, got)
}

// burstFake is an idleFake that is not idle while the test is still
// feeding a burst of requests.
type burstFake struct {
	*fakeTransport
	feeding atomic.Bool
}

func (f *burstFake) Idle() bool { return len(f.in) == 0 && !f.feeding.Load() }

// FrameBuffered: while the test feeds, the next request comes at once.
func (f *burstFake) FrameBuffered() bool { return len(f.in) > 0 || f.feeding.Load() }

// checkedIn serves t with a session checked in as J004.
func checkedIn(tt *testing.T, h *Hub, t Transport, f *fakeTransport) {
	tt.Helper()
	go h.Serve(t)
	f.in <- &Request{Command: campbus.CmdCheckin, ID: "1", Body: body(campbus.CheckinRequest{CampID: "J004"})}
	require.Equal(tt, 200, f.waitFrames(tt, 1)[0].Status)
}

func TestMessagesSentTogetherAreOnTheBusTogetherAndAnsweredInOrder(t *testing.T) {
	h, camp := startHub(t, Options{RequestTimeout: 3 * time.Second})
	f := &burstFake{fakeTransport: newFake()}
	checkedIn(t, h, f, f.fakeTransport)

	// Five messages and a mission come in one burst. The camp answers no
	// message before it has all five, newest first: a session that waited
	// for each answer would get none (500 after the timeout).
	camp.mu.Lock()
	camp.holdMessages = 5
	camp.mu.Unlock()
	f.feeding.Store(true)
	for i := 2; i <= 6; i++ {
		f.in <- &Request{Command: campbus.CmdMessage, ID: fmt.Sprint(i), Body: body(map[string]string{"text": fmt.Sprint("m", i)})}
	}
	f.in <- &Request{Command: campbus.CmdMission, ID: "7", Body: body(map[string]int{"day": 4})}
	f.feeding.Store(false)

	got := f.waitFrames(t, 7)[1:]
	for i, fr := range got[:5] {
		assert.Equal(t, 200, fr.Status, "message %d", i+2)
		assert.Equal(t, fmt.Sprint(i+2), fr.ID, "responses in the order of the requests")
		assert.JSONEq(t, fmt.Sprintf(`{"text":"m%d"}`, i+2), string(fr.Body), "each response is its own request's")
	}
	assert.Equal(t, "7", got[5].ID, "the mission is answered after the messages before it")
	assert.Equal(t, 200, got[5].Status)
	assert.Zero(t, h.replies.pending(), "no answer left awaited")
}

func TestAMessageWithoutAnAnswerGets503AndTheSessionGoesOn(t *testing.T) {
	h, camp := startHub(t, Options{RequestTimeout: 300 * time.Millisecond})
	f := &burstFake{fakeTransport: newFake()}
	checkedIn(t, h, f, f.fakeTransport)

	camp.mu.Lock()
	camp.holdMessages = 2 // never reached: the one message is never answered
	camp.mu.Unlock()
	f.in <- &Request{Command: campbus.CmdMessage, ID: "2", Body: body(map[string]string{"text": "lost"})}
	fr := f.waitFrames(t, 2)[1]
	assert.Equal(t, http.StatusServiceUnavailable, fr.Status, "no answer in time: the camp is taken to be electing")
	var perr campbus.Error
	require.NoError(t, json.Unmarshal(fr.Body, &perr))
	assert.Equal(t, campbus.CodeUnavailable, perr.Code)
	assert.Equal(t, 1, perr.RetryAfter, "the camper is told when to try again")
	assert.Zero(t, h.replies.pending(), "the unanswered request is forgotten")

	f.in <- &Request{Command: campbus.CmdMission, ID: "3", Body: body(map[string]int{"day": 4})}
	assert.Equal(t, 200, f.waitFrames(t, 3)[2].Status)
}

// blindFake is an Idler that can never tell what waits and has no
// FrameBuffered (as TLS with nothing decrypted yet): a message must be
// answered without waiting for the next request.
type blindFake struct{ *fakeTransport }

func (f blindFake) Idle() bool { return false }

func TestAMessageIsAnsweredWhenTheTransportCannotTellWhatWaits(t *testing.T) {
	h, _ := startHub(t, Options{RequestTimeout: 5 * time.Second})
	f := blindFake{newFake()}
	checkedIn(t, h, f, f.fakeTransport)
	// Nothing follows: the answer must not wait for a next request.
	f.in <- &Request{Command: campbus.CmdMessage, ID: "2", Body: body(map[string]string{"text": "hi"})}
	assert.Equal(t, 200, f.waitFrames(t, 2)[1].Status)
}

// pending returns how many answers the hub's replies await.
func (rs *replies) pending() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.wait)
}

// logLines is a log, safe for the session's goroutines and the test's.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// requests returns the "request" records of command, in order.
func (l *logLines) requests(t *testing.T, command string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var found []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "log line %q", line)
		if rec["msg"] == "request" && rec["command"] == command {
			found = append(found, rec)
		}
	}
	return found
}

func TestARefusedCheckinsLogLineNamesTheCampIdAskedFor(t *testing.T) {
	var logs logLines
	// One request per connection, then one every 100 s.
	h, _ := startHub(t, Options{Rate: 0.01, Burst: 1, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	holder, _ := serve(h)
	holder.in <- &Request{Command: campbus.CmdCheckin, ID: "1", Body: body(campbus.CheckinRequest{CampID: "J004"})}
	require.Equal(t, 200, holder.waitFrames(t, 1)[0].Status)

	f, _ := serve(h)
	// Refused by the camp: J004 is held.
	f.in <- &Request{Command: campbus.CmdCheckin, ID: "1", Body: body(campbus.CheckinRequest{CampID: "J004"})}
	// Refused by the session itself, before the bus: past the rate.
	f.in <- &Request{Command: campbus.CmdCheckin, ID: "2", Body: body(campbus.CheckinRequest{CampID: "J006"})}
	fr := f.waitFrames(t, 2)
	require.Equal(t, []int{409, 429}, []int{fr[0].Status, fr[1].Status})

	recs := logs.requests(t, campbus.CmdCheckin)
	require.Len(t, recs, 3)
	var got [][2]any
	for _, r := range recs {
		got = append(got, [2]any{r["campId"], r["outcome"]})
	}
	assert.Equal(t, [][2]any{
		{"J004", "success"},
		{"J004", campbus.CodeCampIDInUse},
		{"J006", campbus.CodeRateLimited},
	}, got)
}
