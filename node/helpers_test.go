package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/wire"
)

// waitFor bounds every wait of these tests; nothing sleeps to synchronise.
const waitFor = 10 * time.Second

// startNode starts a node on random loopback ports with its own data dir,
// and shuts it down when the test ends.
func startNode(t *testing.T, opts Options) *Node {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	n, err := Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	return n
}

// quietLogger discards the log, unless CAMPBUS_TEST_LOG is set.
func quietLogger() *slog.Logger {
	if os.Getenv("CAMPBUS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// routeAddrs reserves n loopback addresses for the route listeners of a
// cluster, so that every node can name all the others before any of them
// is up. The ports are free when chosen, and below the kernel's ephemeral
// range (net.ipv4.ip_local_port_range starts at 32768 by default), so
// that no listener or dial on port 0 in this process or another takes one
// before its node listens on it.
func routeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, 0, n)
	for tries := 0; len(addrs) < n; tries++ {
		require.Less(t, tries, 1000, "no free port below the ephemeral range")
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		if slices.Contains(addrs, addr) {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		addrs = append(addrs, addr)
	}
	return addrs
}

// camper is a raw TCP client speaking the wire protocol, as a test sees it.
type camper struct {
	t         *testing.T
	conn      net.Conn
	mu        sync.Mutex // serialises writes
	responses chan *wire.Frame
	events    chan *wire.Frame
	done      chan struct{}
	err       error  // why the read loop ended; read after done
	id        string // the campId it checked in as
}

func dial(t *testing.T, n *Node) *camper {
	t.Helper()
	conn, err := net.DialTimeout("tcp", n.Addr().String(), waitFor)
	require.NoError(t, err)
	return newCamper(t, conn)
}

// newCamper reads the frames that come on conn, which it closes when the
// test ends.
func newCamper(t *testing.T, conn net.Conn) *camper {
	t.Helper()
	c := &camper{
		t:         t,
		conn:      conn,
		responses: make(chan *wire.Frame, 1024),
		events:    make(chan *wire.Frame, 1024),
		done:      make(chan struct{}),
	}
	go c.readLoop()
	t.Cleanup(func() { conn.Close(); <-c.done })
	return c
}

func (c *camper) readLoop() {
	defer close(c.done)
	r := wire.NewReader(c.conn, wire.Limits{MaxBodyBytes: 1 << 20})
	for {
		f, err := r.ReadFrame()
		if err != nil {
			c.err = err
			return
		}
		if f.IsEvent() {
			c.events <- f
		} else {
			c.responses <- f
		}
	}
}

// send writes raw bytes.
func (c *camper) send(raw string) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.conn, raw)
	require.NoError(c.t, err)
}

// request writes one request frame.
func (c *camper) request(command string, body any) {
	c.t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	default:
		var err error
		b, err = json.Marshal(v)
		require.NoError(c.t, err)
	}
	c.send(string(wire.AppendRequest(nil, command, "", b)))
}

// response waits for the next response.
func (c *camper) response() *wire.Frame {
	c.t.Helper()
	return c.responseWithin(waitFor)
}

// responseWithin waits for the next response at most within.
func (c *camper) responseWithin(within time.Duration) *wire.Frame {
	c.t.Helper()
	select {
	case f := <-c.responses:
		return f
	case <-c.done:
		select { // frames read before the close come first
		case f := <-c.responses:
			return f
		default:
		}
		require.FailNow(c.t, "connection closed while waiting for a response", "read error: %v", c.err)
	case <-time.After(within):
		require.FailNow(c.t, "no response in time")
	}
	return nil
}

// do sends a request and returns its response.
func (c *camper) do(command string, body any) *wire.Frame {
	c.t.Helper()
	c.request(command, body)
	return c.response()
}

// ok sends a request, requires 200 and decodes the body into out (if not nil).
func (c *camper) ok(command string, body any, out any) {
	c.t.Helper()
	f := c.do(command, body)
	require.Equal(c.t, 200, f.Status, "%s %v: %s", command, body, f.Body)
	if out != nil {
		require.NoError(c.t, json.Unmarshal(f.Body, out))
	}
}

// fails sends a request and requires an error with that status and code.
func (c *camper) fails(command string, body any, status int, code string) *campbus.Error {
	c.t.Helper()
	return requireError(c.t, c.do(command, body), status, code)
}

func requireError(t *testing.T, f *wire.Frame, status int, code string) *campbus.Error {
	t.Helper()
	var e campbus.Error
	require.NoError(t, json.Unmarshal(f.Body, &e), "error body %q", f.Body)
	require.Equal(t, status, f.Status, "body %s", f.Body)
	require.Equal(t, code, e.Code, "body %s", f.Body)
	require.NotEmpty(t, e.Message, "an error carries a sentence for a person")
	return &e
}

// checkin checks in as id and returns the group.
func (c *camper) checkin(id string) int {
	c.t.Helper()
	var r campbus.CheckinResponse
	c.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: id}, &r)
	require.Equal(c.t, id, r.CampID)
	c.id = id
	return r.Group
}

// event waits for the next event and decodes it.
func (c *camper) event() campbus.Event {
	c.t.Helper()
	return c.eventWithin(waitFor)
}

// eventWithin waits for the next event at most within.
func (c *camper) eventWithin(within time.Duration) campbus.Event {
	c.t.Helper()
	decode := func(f *wire.Frame) campbus.Event {
		var ev campbus.Event
		require.NoError(c.t, json.Unmarshal(f.Body, &ev), "event body %q", f.Body)
		require.Equal(c.t, f.Name(), ev.Type, "the frame's path and the body's type agree")
		return ev
	}
	select {
	case f := <-c.events:
		return decode(f)
	case <-c.done:
		select { // frames read before the close come first
		case f := <-c.events:
			return decode(f)
		default:
		}
		require.FailNow(c.t, "connection closed while waiting for an event", "read error: %v", c.err)
	case <-time.After(within):
		require.FailNow(c.t, "no event in time")
	}
	return campbus.Event{}
}

// expect waits for the next event and requires its type.
func (c *camper) expect(typ string) campbus.Event {
	c.t.Helper()
	return c.expectWithin(typ, waitFor)
}

// expectWithin waits at most within for the next event and requires its
// type.
func (c *camper) expectWithin(typ string, within time.Duration) campbus.Event {
	c.t.Helper()
	ev := c.eventWithin(within)
	require.Equal(c.t, typ, ev.Type, "event %+v", ev)
	return ev
}

// noOffset returns ev without its offset and epoch, for a test about the
// rest.
func noOffset(ev campbus.Event) campbus.Event {
	ev.Offset = 0
	return noEpoch(ev)
}

// noEpoch returns ev without its epoch, for a test about the rest; it
// requires a group event to carry one.
func noEpoch(ev campbus.Event) campbus.Event {
	if ev.Type != campbus.EventDirect && ev.Type != campbus.EventShutdown && !epochForm.MatchString(ev.Epoch) {
		panic(fmt.Sprintf("group event %+v carries no epoch of 12 hex digits", ev))
	}
	ev.Epoch = ""
	return ev
}

// epochForm is the form of the epochs this server makes.
var epochForm = regexp.MustCompile(`^[0-9a-f]{12}$`)

// closed waits until the server closes the connection.
func (c *camper) closed() {
	c.t.Helper()
	select {
	case <-c.done:
		if c.err != nil && !errors.Is(c.err, io.EOF) && !isReset(c.err) {
			c.t.Fatalf("connection ended with %v, want a close", c.err)
		}
	case <-time.After(waitFor):
		c.t.Fatal("server did not close the connection")
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "reset by peer") }

// group checks in ids on new connections and returns them in order.
func group(t *testing.T, n *Node, ids ...string) []*camper {
	t.Helper()
	cs := make([]*camper, len(ids))
	for i, id := range ids {
		cs[i] = dial(t, n)
		cs[i].checkin(id)
		// Everyone already there hears of the join before the next one comes.
		for _, prev := range cs[:i] {
			require.Equal(t, id, prev.expect(campbus.EventJoin).CampID)
		}
	}
	return cs
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s%03d", prefix, i))
	}
	return out
}
