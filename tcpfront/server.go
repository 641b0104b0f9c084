// Package tcpfront holds campbus's TCP listeners: the challenge server's
// front-end, which turns wire frames into requests on the bus and delivers
// bus events to connected campers, and the echo server.
//
// Each front-end connection has one reader goroutine (frames in, one request
// on the bus at a time, so responses keep the order of requests) and one
// writer goroutine that alone owns the socket's write side. Both feed the
// writer through a bounded queue; a camper whose queue is full is too slow to
// keep up and is disconnected, never waited for.
//
// Events reach the front-end once per node: the dispatcher subscribes to
// group.* and camper.* and fans each event out to the local connections of
// that group or camper. A connection joins its group's fan-out when its own
// join event passes through the dispatcher, so it sees exactly the group's
// events that follow its join, in the group's order.
package tcpfront

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/wire"
)

// Options configure a front-end Server.
type Options struct {
	// Instance names this run of the node; connection ids on the bus are
	// made from it (Instance.ConnID).
	Instance bus.Instance
	// Limits bound request frames.
	Limits wire.Limits
	// OutboundFrames bounds each connection's queue of frames to write.
	OutboundFrames int
	// WriteTimeout bounds one write to a camper's socket.
	WriteTimeout time.Duration
	// OutboundBytes bounds the bytes in each connection's queue.
	OutboundBytes int
	// RequestTimeout bounds the wait for a handler's answer.
	RequestTimeout time.Duration
	// MaxConns bounds the connections open at once; past it a new one gets
	// 503 too-many-connections and is closed.
	MaxConns int
	// CheckinTimeout closes a connection that has not checked in this long
	// after it was opened.
	CheckinTimeout time.Duration
	// FrameTimeout closes a connection that starts a frame and does not
	// finish it within this time (slowloris).
	FrameTimeout time.Duration
	// Rate and Burst set each connection's token bucket: Rate requests per
	// second on average, Burst at once. Past it a request gets 429
	// rate-limited. Rate 0 means no limit.
	Rate  float64
	Burst int
	// KeepAlive is the TCP keepalive period, which finds peers that vanished
	// without a word.
	KeepAlive time.Duration
	// Observer, if set, is told of every request answered and every event
	// delivered (metrics).
	Observer Observer
	Logger   *slog.Logger
}

// Observer watches the front-end's traffic. Its methods are called on hot
// paths and must not block.
type Observer interface {
	// Request reports one request answered: its command ("-" for a frame
	// that could not be read), the response status, and how long it took
	// from the frame read to the response queued.
	Request(command string, status int, took time.Duration)
	// Delivered reports an event queued for n campers.
	Delivered(eventType string, n int)
}

type noObserver struct{}

func (noObserver) Request(string, int, time.Duration) {}
func (noObserver) Delivered(string, int)              {}

// Defaults for Options.
const (
	DefaultOutboundFrames = 1024
	DefaultOutboundBytes  = 4 << 20
	DefaultWriteTimeout   = 10 * time.Second
	DefaultRequestTimeout = 15 * time.Second
	DefaultMaxConns       = 16384
	DefaultCheckinTimeout = 30 * time.Second
	DefaultFrameTimeout   = 10 * time.Second
	DefaultKeepAlive      = 30 * time.Second
	writeBufferSize       = 16 << 10
)

// Stats counts what the front-end refused or cut, by reason. Each event is
// counted (and logged) once, however many frames it concerned.
type Stats struct {
	Accepted        uint64 // connections accepted
	TooManyConns    uint64 // refused at accept: --max-conns reached
	SlowConsumers   uint64 // disconnected: outbound queue full
	WriteTimeouts   uint64 // disconnected: a write did not finish in time
	CheckinTimeouts uint64 // closed: no checkin in time
	FrameTimeouts   uint64 // closed: a frame not finished in time
	FrameErrors     uint64 // closed: malformed or oversized frame
	RateLimited     uint64 // requests refused with 429
	Panics          uint64 // connection goroutines that panicked
	Evicted         uint64 // closed: the camp released the checkin (see Evict)
}

// counters are the live Stats.
type counters struct {
	accepted, tooManyConns, slowConsumers, writeTimeouts, checkinTimeouts,
	frameTimeouts, frameErrors, rateLimited, panics, evicted atomic.Uint64
}

// Server is the challenge server's TCP front-end.
type Server struct {
	opts Options
	nc   *nats.Conn
	log  *slog.Logger

	nextID atomic.Uint64
	wg     sync.WaitGroup // one per connection (reader + writer)
	stats  counters
	// writeBuffers lends connections a write buffer while they write.
	writeBuffers sync.Pool

	// stopAccepting is closed when Shutdown begins.
	stopAccepting chan struct{}

	// ctx bounds every request on the bus; it ends when a shutdown runs
	// out of time, so that no reader waits on the bus past it.
	ctx      context.Context
	hardStop context.CancelFunc

	// mu guards everything below. Lock order: Server.mu, then conn.mu.
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[string]*conn          // by bus id
	groups    map[int]map[*conn]string  // group -> attached conns -> campId
	campers   map[string]map[*conn]bool // campId -> conns holding or claiming it
	draining  bool
	subs      []*nats.Subscription
}

// New returns a front-end that sends requests and takes events over nc.
func New(nc *nats.Conn, opts Options) *Server {
	if opts.Instance.Node == "" {
		opts.Instance = bus.Instance{Node: "campbus", Run: "0"}
	}
	if opts.OutboundFrames <= 0 {
		opts.OutboundFrames = DefaultOutboundFrames
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.OutboundBytes <= 0 {
		opts.OutboundBytes = DefaultOutboundBytes
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.CheckinTimeout <= 0 {
		opts.CheckinTimeout = DefaultCheckinTimeout
	}
	if opts.FrameTimeout <= 0 {
		opts.FrameTimeout = DefaultFrameTimeout
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = DefaultKeepAlive
	}
	if opts.Observer == nil {
		opts.Observer = noObserver{}
	}
	if opts.Rate > 0 && opts.Burst < 1 {
		opts.Burst = max(1, int(opts.Rate))
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, hardStop := context.WithCancel(context.Background())
	s := &Server{
		ctx:           ctx,
		hardStop:      hardStop,
		stopAccepting: make(chan struct{}),
		opts:          opts,
		nc:            nc,
		log:           opts.Logger,
		listeners:     map[net.Listener]struct{}{},
		conns:         map[string]*conn{},
		groups:        map[int]map[*conn]string{},
		campers:       map[string]map[*conn]bool{},
	}
	s.writeBuffers.New = func() any { return bufio.NewWriterSize(nil, writeBufferSize) }
	return s
}

// Start subscribes the dispatcher to the group and camper events of the bus.
func (s *Server) Start() error {
	for subject, cb := range map[string]nats.MsgHandler{
		bus.GroupPrefix + "*":  s.onGroupEvent,
		bus.CamperPrefix + "*": s.onCamperEvent,
	} {
		sub, err := s.nc.Subscribe(subject, cb)
		if err != nil {
			s.unsubscribe()
			return fmt.Errorf("tcpfront: subscribe %s: %w", subject, err)
		}
		// Events are small and the dispatcher never blocks on a camper, so
		// a deep pending buffer only absorbs bursts.
		if err := sub.SetPendingLimits(1<<20, 256<<20); err != nil {
			_ = sub.Unsubscribe()
			s.unsubscribe()
			return fmt.Errorf("tcpfront: pending limits: %w", err)
		}
		s.subs = append(s.subs, sub)
	}
	return s.nc.Flush()
}

func (s *Server) unsubscribe() {
	for _, sub := range s.subs {
		_ = sub.Unsubscribe()
	}
	s.subs = nil
}

// Serve accepts connections on ln until ln is closed (by Shutdown or the
// caller). It returns nil once the server is shutting down.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	return acceptLoop("campers", ln, s.stopAccepting, s.log, func(nc net.Conn) bool {
		s.startConn(nc)
		return true
	})
}

func (s *Server) startConn(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetKeepAlive(true)
		_ = tc.SetKeepAlivePeriod(s.opts.KeepAlive)
	}
	id := s.nextID.Add(1)
	c := newConn(s, id, nc)
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		nc.Close()
		return
	}
	full := len(s.conns) >= s.opts.MaxConns
	if !full {
		s.conns[c.busID] = c
	}
	s.wg.Add(1)
	s.mu.Unlock()
	if full {
		s.stats.tooManyConns.Add(1)
		go s.refuse(nc)
		return
	}
	s.stats.accepted.Add(1)
	go c.serve()
}

// refuse answers a connection past MaxConns with 503 and closes it.
func (s *Server) refuse(nc net.Conn) {
	defer s.wg.Done()
	defer nc.Close()
	perr := campbus.Errorf(http.StatusServiceUnavailable, campbus.CodeTooManyConnections,
		"the server holds its maximum of %d connections; try again later", s.opts.MaxConns)
	body, _ := json.Marshal(perr)
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write(wire.AppendResponse(nil, perr.Status, "", body))
	s.log.Warn("connection refused: too many connections", "remote", nc.RemoteAddr().String(), "max", s.opts.MaxConns)
}

// ByReason returns the counters of refusals and cuts keyed by reason.
func (st Stats) ByReason() map[string]uint64 {
	return map[string]uint64{
		"too-many-connections": st.TooManyConns,
		"slow-consumer":        st.SlowConsumers,
		"write-timeout":        st.WriteTimeouts,
		"checkin-timeout":      st.CheckinTimeouts,
		"frame-timeout":        st.FrameTimeouts,
		"frame-error":          st.FrameErrors,
		"rate-limited":         st.RateLimited,
		"panic":                st.Panics,
		"evicted":              st.Evicted,
	}
}

// Accepting reports whether the front-end takes new connections, that is,
// it is not shutting down.
func (s *Server) Accepting() bool { return !s.isDraining() }

// Stats returns the front-end's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Accepted:        s.stats.accepted.Load(),
		TooManyConns:    s.stats.tooManyConns.Load(),
		SlowConsumers:   s.stats.slowConsumers.Load(),
		WriteTimeouts:   s.stats.writeTimeouts.Load(),
		CheckinTimeouts: s.stats.checkinTimeouts.Load(),
		FrameTimeouts:   s.stats.frameTimeouts.Load(),
		FrameErrors:     s.stats.frameErrors.Load(),
		RateLimited:     s.stats.rateLimited.Load(),
		Panics:          s.stats.panics.Load(),
		Evicted:         s.stats.evicted.Load(),
	}
}

// Shutdown stops accepting, sends every camper a shutdown event, checks
// each one out (its group is told), closes the connections, and waits for
// their goroutines until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.draining {
		close(s.stopAccepting)
	}
	s.draining = true
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		// Past the deadline: cut whatever is left.
		s.hardStop()
		for _, c := range conns {
			c.abort("shutdown deadline")
		}
		<-done
		err = fmt.Errorf("tcpfront: shutdown: %w", ctx.Err())
	}
	s.hardStop()
	s.unsubscribe()
	return err
}

// Conns returns how many connections are open.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// removeConn forgets c everywhere. Called once, when c ends.
func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c.busID)
	if members := s.groups[c.attached]; members != nil {
		delete(members, c)
		if len(members) == 0 {
			delete(s.groups, c.attached)
		}
	}
	for id := range c.claims {
		s.unclaimLocked(c, id)
	}
}

// claim records that c is checking in, or checked in, as campId, so that
// directs to campId reach it from the first moment they can exist.
func (s *Server) claim(c *conn, campID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.campers[campID] == nil {
		s.campers[campID] = map[*conn]bool{}
	}
	s.campers[campID][c] = true
	c.claims[campID] = true
}

func (s *Server) unclaim(c *conn, campID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unclaimLocked(c, campID)
}

// unclaimLocked: s.mu must be held.
func (s *Server) unclaimLocked(c *conn, campID string) {
	delete(c.claims, campID)
	if m := s.campers[campID]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(s.campers, campID)
		}
	}
}

// CheckedIn returns the campers checked in on this front-end: connection id
// on the bus -> campId.
func (s *Server) CheckedIn() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.conns))
	for id, c := range s.conns {
		if c.checkedIn != "" {
			out[id] = c.checkedIn
		}
	}
	return out
}

// Evict ends the connection busID, still checked in as campID here, whose
// checkin the camp no longer holds (the node was taken for lost while cut
// off from the others, and its campers were checked out). The camper gets a
// shutdown event that says so, then the connection closes, so that its
// client can connect and check in again. It reports whether it found the
// connection in that state.
func (s *Server) Evict(busID, campID string) bool {
	s.mu.Lock()
	c := s.conns[busID]
	found := c != nil && c.checkedIn == campID
	s.mu.Unlock()
	if !found {
		return false
	}
	s.stats.evicted.Add(1)
	s.log.Warn("connection closed: its checkin was released while this node was cut off from the camp",
		"session", c.id, "campId", campID, "remote", c.remote)
	c.end(EvictedReason)
	return true
}

// EvictedReason is the reason of the shutdown event an evicted camper gets.
const EvictedReason = "this server lost contact with the camp and your checkin was released; connect and check in again"

// settle records that c is checked in as campID ("" once it is not).
func (s *Server) settle(c *conn, campID string) {
	s.mu.Lock()
	c.checkedIn = campID
	s.mu.Unlock()
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}
