package session

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/auth"
	"github.com/campbus/campbus/bus"
)

// Options configure a Hub.
type Options struct {
	// Instance names this run of the node; connection ids on the bus are
	// made from it (Instance.ConnID).
	Instance bus.Instance
	// OutboundFrames and OutboundBytes bound each camper's queue of frames
	// to write; past either the camper is disconnected as too slow.
	OutboundFrames int
	OutboundBytes  int
	// WriteTimeout bounds one write to a camper.
	WriteTimeout time.Duration
	// RequestTimeout bounds the wait for a handler's answer: past it the
	// camper gets 503 unavailable (PROTOCOL.md §11).
	RequestTimeout time.Duration
	// MaxConns bounds the campers connected at once, over every transport;
	// past it a new one gets 503 too-many-connections and is closed.
	MaxConns int
	// CheckinTimeout closes a connection that has not checked in this long
	// after it was opened.
	CheckinTimeout time.Duration
	// Rate and Burst set each camper's token bucket: Rate requests per
	// second on average, Burst at once. Past it a request gets 429
	// rate-limited. Rate 0 means no limit.
	Rate  float64
	Burst int
	// Tokens, when set, is the camp's secret: a checkin needs a token it
	// signed (PROTOCOL.md §9, and token.go for where it is checked).
	Tokens *auth.Secret
	// Observer, if set, is told of every request answered and every event
	// delivered (metrics).
	Observer Observer
	// Pipeline is how many of one camper's messages may be on the bus at
	// once, when the camper sends them faster than they are answered (see
	// pipeline.go); 1 sends each after the answer to the one before.
	Pipeline int
	// GroupWatcher, if set, sees every event on group.<n> that reaches
	// the hub, before it is delivered, on the hub's dispatcher: the
	// handlers keep their view of free seats with it, from the same
	// subscription and the same decoding (see handlers.Options.SeatsFed).
	// It must be quick and must not block.
	GroupWatcher func(m *nats.Msg, meta bus.EventMeta)
	Logger       *slog.Logger
}

// Defaults for Options.
const (
	DefaultOutboundFrames = 1024
	DefaultOutboundBytes  = 4 << 20
	DefaultWriteTimeout   = 10 * time.Second
	DefaultRequestTimeout = 2 * time.Second
	DefaultMaxConns       = 16384
	DefaultCheckinTimeout = 30 * time.Second
	DefaultPipeline       = 8
)

// Observer watches the campers' traffic. Its methods are called on hot
// paths and must not block.
type Observer interface {
	// Request reports one request answered on a transport: its command
	// ("-" for a frame that could not be read, "unknown" for a name that
	// is no command), the response status, and how long it took from the
	// request read to the response queued.
	Request(transport, command string, status int, took time.Duration)
	// Delivered reports an event queued for n campers.
	Delivered(eventType string, n int)
}

type noObserver struct{}

func (noObserver) Request(string, string, int, time.Duration) {}
func (noObserver) Delivered(string, int)                      {}

// Stats counts what the hub refused or cut, by reason. Each event is
// counted (and logged) once, however many frames it concerned.
type Stats struct {
	Accepted        uint64 // campers connected
	TooManyConns    uint64 // refused at once: MaxConns reached
	SlowConsumers   uint64 // disconnected: outbound queue full
	WriteTimeouts   uint64 // disconnected: a write did not finish in time
	CheckinTimeouts uint64 // closed: no checkin in time
	FrameTimeouts   uint64 // closed: a frame not finished in time
	FrameErrors     uint64 // closed: malformed or oversized frame
	RateLimited     uint64 // requests refused with 429
	Panics          uint64 // camper goroutines that panicked
	Evicted         uint64 // closed: the camp released the checkin (see Evict)
	BadTokens       uint64 // checkins refused with 401 bad-token
	TokenThrottled  uint64 // checkins refused with 429: too many bad tokens
	Kicked          uint64 // closed: staff kicked the camper
}

// dropReasons is the one list of Stats' reasons, as metrics label them.
var dropReasons = []string{"too-many-connections", "slow-consumer", "write-timeout", "checkin-timeout",
	"frame-timeout", "frame-error", "rate-limited", "panic", "evicted", "bad-token", "token-throttled", "kicked"}

// ByReason returns the counters of refusals and cuts keyed by reason.
func (st Stats) ByReason() map[string]uint64 {
	values := []uint64{st.TooManyConns, st.SlowConsumers, st.WriteTimeouts, st.CheckinTimeouts,
		st.FrameTimeouts, st.FrameErrors, st.RateLimited, st.Panics, st.Evicted, st.BadTokens, st.TokenThrottled, st.Kicked}
	if len(values) != len(dropReasons) {
		panic("session: drop reasons out of sync with Stats")
	}
	out := make(map[string]uint64, len(values))
	for i, r := range dropReasons {
		out[r] = values[i]
	}
	return out
}

// counters are the live Stats.
type counters struct {
	accepted, tooManyConns, slowConsumers, writeTimeouts, checkinTimeouts,
	frameTimeouts, frameErrors, rateLimited, panics, evicted, badTokens, tokenThrottled, kicked atomic.Uint64
}

// Hub holds a node's campers, whatever their transport.
type Hub struct {
	opts Options
	nc   *nats.Conn
	log  *slog.Logger

	nextID atomic.Uint64
	wg     sync.WaitGroup // one per camper being served
	stats  counters
	reg    registry

	// ctx bounds every request on the bus; it ends when a shutdown runs
	// out of time, so that no reader waits on the bus past it.
	ctx      context.Context
	hardStop context.CancelFunc

	// mu guards sessions and draining. It is never held while a frame is
	// queued or a transport touched.
	mu       sync.Mutex
	sessions map[string]*Session            // by connection id on the bus
	staff    map[*Session]time.Time         // signed in as staff, until their token expires: they get every group event
	staffNow atomic.Pointer[[]staffSession] // staff, for the dispatcher (nil: none)
	draining bool
	subs     []*nats.Subscription

	// replies routes the answers to pipelined messages.
	replies replies
}

// NewHub returns a hub that sends requests and takes events over nc.
func NewHub(nc *nats.Conn, opts Options) *Hub {
	if opts.Instance.Node == "" {
		opts.Instance = bus.Instance{Node: "campbus", Run: "0"}
	}
	if opts.OutboundFrames <= 0 {
		opts.OutboundFrames = DefaultOutboundFrames
	}
	if opts.OutboundBytes <= 0 {
		opts.OutboundBytes = DefaultOutboundBytes
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.CheckinTimeout <= 0 {
		opts.CheckinTimeout = DefaultCheckinTimeout
	}
	if opts.Pipeline <= 0 {
		opts.Pipeline = DefaultPipeline
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
	h := &Hub{
		opts:     opts,
		nc:       nc,
		log:      opts.Logger,
		ctx:      ctx,
		hardStop: hardStop,
		sessions: map[string]*Session{},
	}
	h.reg.init()
	return h
}

// Start subscribes the dispatcher to the group and camper events of the bus.
func (h *Hub) Start() error {
	for subject, cb := range map[string]func(*nats.Msg, *wakeups){
		bus.GroupPrefix + "*":  h.onGroupEvent,
		bus.CamperPrefix + "*": h.onCamperEvent,
	} {
		var w wakeups // this subscription's: its callbacks run one at a time
		sub, err := h.nc.Subscribe(subject, func(m *nats.Msg) {
			cb(m, &w)
			w.afterEvent(m.Sub)
		})
		if err != nil {
			h.unsubscribe()
			return fmt.Errorf("session: subscribe %s: %w", subject, err)
		}
		// Events are small and the dispatcher never blocks on a camper, so
		// a deep pending buffer only absorbs bursts.
		if err := sub.SetPendingLimits(1<<20, 256<<20); err != nil {
			_ = sub.Unsubscribe()
			h.unsubscribe()
			return fmt.Errorf("session: pending limits: %w", err)
		}
		h.subs = append(h.subs, sub)
	}
	sub, err := h.replies.subscribe(h.nc)
	if err != nil {
		h.unsubscribe()
		return fmt.Errorf("session: subscribe to replies: %w", err)
	}
	h.subs = append(h.subs, sub)
	return h.nc.Flush()
}

func (h *Hub) unsubscribe() {
	for _, sub := range h.subs {
		_ = sub.Unsubscribe()
	}
	h.subs = nil
}

// Serve runs one camper's session over t until it ends, and closes t. It
// refuses the camper (503, then close) when the hub is full or draining.
// Over a transport that is an Idler, Serve may return while the session
// goes on, on a goroutine of its own: the transport's Close, which comes
// last, tells the caller that it ended (Shutdown waits for it either way).
func (h *Hub) Serve(t Transport) {
	id := h.nextID.Add(1)
	s := newSession(h, id, t)
	h.mu.Lock()
	if h.draining {
		h.mu.Unlock()
		h.refuse(t, campbus.Errorf(http.StatusServiceUnavailable, campbus.CodeShuttingDown, "the server is shutting down"))
		return
	}
	if len(h.sessions) >= h.opts.MaxConns {
		h.mu.Unlock()
		h.stats.tooManyConns.Add(1)
		h.log.Warn("connection refused: too many connections", "transport", t.Name(), "remote", t.RemoteAddr(), "max", h.opts.MaxConns)
		h.refuse(t, campbus.Errorf(http.StatusServiceUnavailable, campbus.CodeTooManyConnections,
			"the server holds its maximum of %d connections; try again later", h.opts.MaxConns))
		return
	}
	h.sessions[s.busID] = s
	h.wg.Add(1)
	h.mu.Unlock()
	h.stats.accepted.Add(1)
	h.log.Debug("connected", "session", s.id, "transport", t.Name(), "remote", s.remote)
	s.serve(false) // the session's end (finish) counts it out of h.wg
}

// refuse answers a camper that cannot be served with perr and closes it.
func (h *Hub) refuse(t Transport, perr *campbus.Error) {
	body, _ := json.Marshal(perr)
	_ = t.Write([][]byte{t.Codec().Response(perr.Status, "", body)}, time.Second)
	_ = t.Close(ClosePolicy)
}

// Accepting reports whether the hub takes new campers, that is, it is not
// shutting down.
func (h *Hub) Accepting() bool { return !h.isDraining() }

func (h *Hub) isDraining() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.draining
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{
		Accepted:        h.stats.accepted.Load(),
		TooManyConns:    h.stats.tooManyConns.Load(),
		SlowConsumers:   h.stats.slowConsumers.Load(),
		WriteTimeouts:   h.stats.writeTimeouts.Load(),
		CheckinTimeouts: h.stats.checkinTimeouts.Load(),
		FrameTimeouts:   h.stats.frameTimeouts.Load(),
		FrameErrors:     h.stats.frameErrors.Load(),
		RateLimited:     h.stats.rateLimited.Load(),
		Panics:          h.stats.panics.Load(),
		Evicted:         h.stats.evicted.Load(),
		BadTokens:       h.stats.badTokens.Load(),
		TokenThrottled:  h.stats.tokenThrottled.Load(),
		Kicked:          h.stats.kicked.Load(),
	}
}

// Conns returns how many campers are connected.
func (h *Hub) Conns() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Shutdown stops taking campers, sends every camper a shutdown event,
// checks each one out (its group is told), closes the transports, and
// waits for their sessions until ctx is done. The front-ends stop
// accepting first.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.draining = true
	all := make([]*Session, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()

	for _, s := range all {
		s.end("server shutting down", CloseGoingAway)
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		// Past the deadline: cut whatever is left.
		h.hardStop()
		for _, s := range all {
			s.abort("shutdown deadline", CloseGoingAway)
		}
		<-done
		err = fmt.Errorf("session: shutdown: %w", ctx.Err())
	}
	h.hardStop()
	h.unsubscribe()
	return err
}

// CheckedIn returns the campers checked in on this node: connection id on
// the bus -> campId.
func (h *Hub) CheckedIn() map[string]string { return h.CheckedInBefore(time.Time{}) }

// CheckedInBefore returns the campers whose checkin succeeded before t
// (any time, for the zero t): connection id on the bus -> campId.
func (h *Hub) CheckedInBefore(t time.Time) map[string]string {
	h.mu.Lock()
	all := make([]*Session, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	out := make(map[string]string, len(all))
	for _, s := range all {
		if id, at := s.checkedInAs(); id != "" && (t.IsZero() || at.Before(t)) {
			out[s.busID] = id
		}
	}
	return out
}

// EvictedReason is the reason of the shutdown event an evicted camper gets.
const EvictedReason = "this server lost contact with the camp and your checkin was released; connect and check in again"

// Evict ends the session busID, still checked in as campID here, whose
// checkin the camp no longer holds (the node was taken for lost while cut
// off from the others, and its campers were checked out). The camper gets a
// shutdown event that says so, then the transport closes, so that its
// client can connect and check in again. It reports whether it found the
// session in that state.
func (h *Hub) Evict(busID, campID string) bool {
	h.mu.Lock()
	s := h.sessions[busID]
	h.mu.Unlock()
	if s == nil {
		return false
	}
	if id, _ := s.checkedInAs(); id != campID {
		return false
	}
	h.stats.evicted.Add(1)
	h.log.Warn("connection closed: its checkin was released while this node was cut off from the camp",
		"session", s.id, "campId", campID, "transport", s.t.Name(), "remote", s.remote)
	s.end(EvictedReason, ClosePolicy)
	return true
}

// removeSession forgets s everywhere. Called once, when s ends.
func (h *Hub) removeSession(s *Session) {
	h.mu.Lock()
	delete(h.sessions, s.busID)
	if _, ok := h.staff[s]; ok {
		delete(h.staff, s)
		h.snapshotStaffLocked()
	}
	h.mu.Unlock()
	h.reg.remove(s)
}

// addStaff makes s, signed in as staff until until, one of the sessions
// that get every group event (a sign-in again moves its until).
func (h *Hub) addStaff(s *Session, until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.staff == nil {
		h.staff = map[*Session]time.Time{}
	}
	h.staff[s] = until
	h.snapshotStaffLocked()
}

// snapshotStaffLocked publishes the staff sessions for the dispatcher,
// which reads them for every group event without a lock. h.mu must be
// held.
func (h *Hub) snapshotStaffLocked() {
	if len(h.staff) == 0 {
		h.staffNow.Store(nil)
		return
	}
	snap := make([]staffSession, 0, len(h.staff))
	for s, until := range h.staff {
		snap = append(snap, staffSession{s, until})
	}
	h.staffNow.Store(&snap)
}

// staffSession is a staff session and when its token expires: past it,
// the session hears no more events until it signs in again.
type staffSession struct {
	s     *Session
	until time.Time
}

// staffSessions returns the staff sessions whose token holds at now.
func (h *Hub) staffSessions(now time.Time, out []*Session) []*Session {
	snap := h.staffNow.Load()
	if snap == nil {
		return out
	}
	for _, st := range *snap {
		if now.Before(st.until) {
			out = append(out, st.s)
		}
	}
	return out
}
