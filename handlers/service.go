// Package handlers answers the campbus commands on the bus: one handler per
// command, each subscribed to req.<command> in the handlers' queue group, so
// that every request is answered once whichever node it arrives at.
//
// Handlers keep no camp state in memory that decides anything. Who is checked
// in lives in the JetStream KV bucket "campers" (created with compare-and-set);
// each group's state (members, peer session, message count) rides on the
// group's events in the GROUPS stream, and every change is appended with an
// expected last sequence for the group's subject, so two handlers racing on
// one group, on one node or several, can never both win. The loser reloads
// the state and tries again. This gives each group one total order of events,
// which the stream republishes on group.<n> in that order.
package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// Options configure the handlers.
type Options struct {
	NodeName  string
	CampIDs   campbus.IDRange
	GroupSize int
	// Workers bounds how many requests are handled at once on this node.
	Workers int
	// Timeout bounds one request's work on the bus: a request that the
	// store cannot decide by then (a stream electing its leader after a
	// node was lost) is answered 503 unavailable, so that every camper
	// hears back within 2 s (PROTOCOL.md §11).
	Timeout time.Duration
	// DataDir is where JetStream keeps its files: CheckStore watches the
	// free space of its filesystem ("" does not).
	DataDir string
	Logger  *slog.Logger
	// SeatsFed says the node passes every group event its front-end
	// receives to WatchGroup: the service then makes no subscription of
	// its own to group.* (which would cost every event a second delivery
	// and decoding in the node).
	SeatsFed bool
	// SoleWriter says no other node writes the streams (the node is not
	// in a cluster): a group's queued messages are then appended without
	// waiting for each acknowledgement (appendMessages).
	SoleWriter bool
	// Nodes returns the camp's live nodes as they advertise themselves,
	// this one included, in name order, for the checkin response
	// (PROTOCOL.md §11). Whichever node's handler answers a checkin, the
	// list is that node's. Nil on a node alone: its checkins carry none.
	Nodes func() []campbus.NodeInfo
	// Now returns the current time (tests may replace it).
	Now func() time.Time
}

// muteLoadWait bounds how long Start waits to know the camp's mutes.
const muteLoadWait = 2 * time.Second

// Defaults for Options.
const (
	DefaultGroupSize = 4
	DefaultWorkers   = 64
	DefaultTimeout   = 1500 * time.Millisecond
	// maxCommitTries bounds the compare-and-set retries of one change.
	maxCommitTries = 200
	// MaxSessionMessages is the highest maxCount a peer session accepts.
	MaxSessionMessages = 10000
	// queuedPerWorker bounds the message requests waiting in the groups'
	// queues: Workers times this many.
	queuedPerWorker = 16
)

// Service is the set of running handlers of one node.
type Service struct {
	opts    Options
	nc      *nats.Conn
	js      jetstream.JetStream
	groups  jetstream.Stream
	directs jetstream.Stream
	campers jetstream.KeyValue
	seats   *seatView
	log     *slog.Logger
	// epoch names the group log; every group event carries it.
	epoch string
	// store is the streams' shares of the disk budget and the last look
	// at how full they are (CheckStore); measureMu lets one request at a
	// time measure GROUPS when the estimate says it is near full.
	store     storeState
	measureMu sync.Mutex

	// groupLocks serialise changes to a group on this node (group n takes
	// lock n mod len); groupCache keeps each group's last known state.
	groupLocks [256]sync.Mutex
	groupCache groupCache

	// idPrefix and changes make the ids of group changes (changeID).
	idPrefix string
	changes  atomic.Uint64

	table map[string]handlerFunc
	work  chan job
	subs  []*nats.Subscription
	wg    sync.WaitGroup
	// inOrder queues message requests per group (see inorder.go); queued
	// holds a token per request in those queues, which bounds them.
	inOrder    groupQueues
	queued     chan struct{}
	msgSubject string
	// unwaited counts the messages appendMessages published without
	// waiting for the ack of the one before.
	unwaited atomic.Uint64

	// mutes is this node's view of the mutes staff set (staff.go), kept by
	// watchMutes until stopWatch.
	mutes     muteList
	stopWatch context.CancelFunc
	watchDone chan struct{}

	// mu guards stopped; subscription callbacks hold it for reading while
	// they queue a request, so that Stop never closes work under them.
	mu      sync.RWMutex
	stopped bool
}

// request is one request as a handler sees it: the bus envelope, and what
// the handler tells the front-end beside the body.
type request struct {
	*bus.Request
	// seated is set by a successful checkin: who the connection now is.
	seated *bus.Reply
}

// handlerFunc handles one command. It returns the 200 response body, or a
// *campbus.Error.
type handlerFunc func(ctx context.Context, r *request) (any, error)

// New prepares the handlers over the streams of st; Start subscribes them.
func New(nc *nats.Conn, js jetstream.JetStream, st *bus.Streams, opts Options) (*Service, error) {
	if opts.GroupSize <= 0 {
		opts.GroupSize = DefaultGroupSize
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CampIDs.Width == 0 {
		opts.CampIDs = campbus.MustParseIDRange(campbus.DefaultCampIDs)
	}
	token := make([]byte, 6)
	if _, err := rand.Read(token); err != nil {
		return nil, fmt.Errorf("handlers: change ids: %w", err)
	}
	s := &Service{
		idPrefix: opts.NodeName + "-" + hex.EncodeToString(token) + "-",
		opts:     opts,
		nc:       nc,
		js:       js,
		groups:   st.Groups,
		directs:  st.Directs,
		campers:  st.Campers,
		epoch:    st.Epoch,
		seats:    newSeatView(),
		log:      opts.Logger,
		store:    storeState{budget: st.Budget},
		work:     make(chan job, opts.Workers),
		queued:   make(chan struct{}, opts.Workers*queuedPerWorker),
		// message requests are queued per group, in order (inorder.go)
		msgSubject: bus.ReqSubject(campbus.CmdMessage),
	}
	s.table = map[string]handlerFunc{
		campbus.CmdCheckin:     s.checkin,
		campbus.CmdCheckout:    s.checkout,
		campbus.CmdMission:     s.mission,
		campbus.CmdPeerSession: s.peerSession,
		campbus.CmdComplete:    s.complete,
		campbus.CmdMessage:     s.message,
		campbus.CmdDirect:      s.direct,
		campbus.CmdHistory:     s.history,
		campbus.CmdStaff:       s.staffSignIn,
		campbus.CmdBoard:       s.board,
		campbus.CmdAnnounce:    s.announce,
		campbus.CmdMute:        s.mute,
		campbus.CmdKick:        s.kick,
		campbus.CmdRevoke:      s.revoke,
		campbus.CmdRedact:      s.redact,
	}
	if err := tableInSync(s.table); err != nil {
		return nil, err
	}
	return s, nil
}

// Epoch returns the group log's epoch (PROTOCOL.md §11).
func (s *Service) Epoch() string { return s.epoch }

// tableInSync checks that every command of campbus's table has a handler
// and every handler a command.
func tableInSync(table map[string]handlerFunc) error {
	names := campbus.CommandNames()
	for _, name := range names {
		if table[name] == nil {
			return fmt.Errorf("handlers: command %q has no handler", name)
		}
	}
	if len(table) != len(names) {
		return fmt.Errorf("handlers: %d handlers for %d commands: out of sync with the command table", len(table), len(names))
	}
	return nil
}

// Start subscribes one handler per command, and (unless Options.SeatsFed)
// a watcher of group events that keeps this node's view of free seats
// current.
func (s *Service) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWatch, s.watchDone = cancel, make(chan struct{})
	loaded := make(chan struct{})
	var once sync.Once
	go func() {
		defer close(s.watchDone)
		s.watchMutes(ctx, func() { once.Do(func() { close(loaded) }) })
	}()
	// The mutes kept are known before the first message is decided, but a
	// camp electing its leaders does not hold the node's start up.
	select {
	case <-loaded:
	case <-time.After(muteLoadWait):
		s.log.Warn("the mutes are not all read yet; they apply as they come", "waited", muteLoadWait)
	}
	for i := 0; i < s.opts.Workers; i++ {
		s.wg.Add(1)
		go s.worker()
	}
	for _, name := range campbus.CommandNames() {
		// The callback only queues: the bounded worker pool does the work,
		// so that requests of one command run concurrently.
		sub, err := s.nc.QueueSubscribe(bus.ReqSubject(name), bus.HandlerQueue, s.enqueue)
		if err != nil {
			s.Stop()
			return fmt.Errorf("handlers: subscribe %s: %w", name, err)
		}
		s.subs = append(s.subs, sub)
	}
	if !s.opts.SeatsFed {
		sub, err := s.nc.Subscribe(bus.GroupPrefix+"*", func(m *nats.Msg) { s.WatchGroup(m, bus.ParseEventMeta(m)) })
		if err != nil {
			s.Stop()
			return fmt.Errorf("handlers: watch groups: %w", err)
		}
		s.subs = append(s.subs, sub)
	}
	return s.nc.Flush()
}

// enqueue hands a request to the workers; a message request goes to its
// group's queue, in the order the subscription delivers them. When the
// workers are all busy, or the groups' queues full, it blocks, and the
// subscription's pending limit bounds what waits behind it.
func (s *Service) enqueue(m *nats.Msg) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.stopped {
		return
	}
	if m.Subject == s.msgSubject {
		if r := bus.ParseRequest(m); r.Group > 0 {
			s.queued <- struct{}{}
			if s.inOrder.push(r.Group, queuedRequest{m: m, r: &request{Request: r}}) {
				s.work <- job{group: r.Group}
			}
			return
		}
	}
	s.work <- job{m: m}
}

// Stop unsubscribes, lets the requests already taken finish, and waits for
// the workers to end. Call it after the front-ends have stopped sending.
func (s *Service) Stop() {
	for _, sub := range s.subs {
		_ = sub.Unsubscribe()
	}
	s.subs = nil
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.work)
	}
	s.mu.Unlock()
	s.wg.Wait()
	if s.stopWatch != nil {
		s.stopWatch()
		<-s.watchDone
		s.stopWatch = nil
	}
}

func (s *Service) worker() {
	defer s.wg.Done()
	for j := range s.work {
		if j.m != nil {
			s.serveRequest(j.m, &request{Request: bus.ParseRequest(j.m)})
		} else {
			s.runGroup(j.group)
		}
	}
}

// serveRequest handles one request message and replies to it. A panic is
// recovered and answered with 500 internal.
func (s *Service) serveRequest(m *nats.Msg, r *request) {
	now := s.opts.Now()
	if s.abandoned(r, now) {
		return
	}
	deadline := now.Add(s.opts.Timeout)
	if asker := r.Deadline; !asker.IsZero() {
		deadline = minTime(deadline, asker)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()

	var body any
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("handler panic", "command", r.Command, "campId", r.CampID, "panic", p, "stack", string(debug.Stack()))
				err = campbus.Errorf(http.StatusInternalServerError, campbus.CodeInternal, "internal error while handling %s", r.Command)
			}
		}()
		h, ok := s.table[r.Command]
		if !ok {
			err = campbus.UnknownCommand(r.Command)
			return
		}
		body, err = h(ctx, r)
	}()
	s.reply(m, r, body, err)
}

// abandoned reports (and logs) a request whose asker stopped waiting before
// its turn came: nobody waits for the answer any more, and doing the work
// now would change the camp behind the asker's back.
func (s *Service) abandoned(r *request, now time.Time) bool {
	if r.Deadline.IsZero() || r.Deadline.After(now) {
		return false
	}
	s.log.Warn("request dropped: its deadline passed while it waited", "command", r.Command, "campId", r.CampID)
	return true
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (s *Service) reply(m *nats.Msg, r *request, body any, err error) {
	out := bus.Reply{Status: http.StatusOK}
	if r.seated != nil {
		out.CampID, out.Group = r.seated.CampID, r.seated.Group
	}
	if err != nil {
		var perr *campbus.Error
		if !errors.As(err, &perr) && bus.IsStorageFull(err) {
			// JetStream refused the write for lack of room: nothing
			// was stored. CheckStore logs the spell, once.
			perr = storageFull(r.Command, "JetStream has no room for it")
		}
		if perr == nil && bus.NoAnswer(err) {
			s.log.Warn("request answered unavailable: the store did not answer in time", "command", r.Command, "campId", r.CampID, "err", err)
			perr = campbus.Unavailable(r.Command)
		}
		if perr == nil {
			s.log.Error("handler failed", "command", r.Command, "campId", r.CampID, "err", err)
			perr = campbus.Errorf(http.StatusInternalServerError, campbus.CodeInternal,
				"internal error while handling %s; it may not have taken effect", r.Command)
		}
		out = bus.Reply{Status: perr.Status, Code: perr.Code}
		body = perr
	}
	data, merr := json.Marshal(body)
	if merr != nil {
		s.log.Error("encode reply", "command", r.Command, "err", merr)
		out = bus.Reply{Status: http.StatusInternalServerError, Code: campbus.CodeInternal}
		data = []byte(`{"error":"internal error","code":"internal"}`)
	}
	if m.Reply == "" {
		return
	}
	out.Body = data
	msg := out.Msg()
	msg.Subject = m.Reply
	if err := m.RespondMsg(msg); err != nil {
		s.log.Warn("reply lost", "command", r.Command, "campId", r.CampID, "err", err)
	}
}
