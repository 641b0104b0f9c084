package session

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// State is where a camper is in its life on a node.
type State int

// The states of a session, in the order it goes through them. A checkin
// that fails goes back to New; Leaving lasts while a checkout is under
// way.
const (
	New        State = iota // connected, not checked in
	CheckingIn              // a checkin is on the bus
	CheckedIn               // holds a campId and a seat
	Leaving                 // checking out
	Closed                  // done; the transport is closed
)

var stateNames = [...]string{"new", "checking in", "checked in", "leaving", "closed"}

func (s State) String() string { return stateNames[s] }

// Session is one camper connected to this node, over one transport.
type Session struct {
	h      *Hub
	t      Transport
	id     uint64 // the session number in logs
	busID  string // how the bus names this connection
	remote string

	// mu guards the outbound side. While a checkin is in flight the events
	// that reach the camper are held, so that it reads its checkin
	// response before anything that followed its join.
	mu      sync.Mutex
	holding bool
	held    [][]byte
	// queue holds the frames the writer has yet to write, queued their
	// bytes (until written); both are bounded by the hub's options.
	queue   [][]byte
	queued  int
	writing bool // a writer goroutine runs (see queue.go)
	// wakePending: frames were queued whose writer a dispatcher starts
	// once its burst of events is over (see wakeups).
	wakePending bool
	// closing: no more frames are queued; the writer closes the transport
	// once the queue is written. closed: the transport is closed.
	closing bool
	closed  bool
	// why the transport is closed, told to the peer where it can be.
	closeWhy CloseReason
	// woken is set when the session is asked to end: the reader stops
	// before reading another request.
	woken   bool
	writers sync.WaitGroup

	// regMu guards what the registry knows of the session.
	regMu     sync.Mutex
	attached  int             // the group whose events it gets, 0 for none
	claims    map[string]bool // campIds it holds or is checking in as
	checkedIn string          // the campId once checked in
	checkedAt time.Time       // when that checkin succeeded
	retired   bool            // removed from the registry for good

	// Owned by the reader goroutine.
	state   State
	campID  string
	group   int
	opened  time.Time
	frameAt time.Time    // when the request in hand was read
	limiter *tokenBucket // nil: no rate limit
	// badTokens counts the checkins refused for their token; until
	// tokenWaitUntil a checkin is refused unread (see tokenDelay).
	badTokens      int
	tokenWaitUntil time.Time
	// inflight are the messages on the bus whose responses are not yet
	// queued, oldest first (pipeline.go).
	inflight []*inflight
	// staff names the staff member signed in on this connection ("" for a
	// camper's); staffUntil is when its token expires (staff.go).
	staff      string
	staffUntil time.Time
}

func newSession(h *Hub, id uint64, t Transport) *Session {
	s := &Session{
		h:      h,
		t:      t,
		id:     id,
		busID:  h.opts.Instance.ConnID(id),
		remote: t.RemoteAddr(),
		claims: map[string]bool{},
		opened: time.Now(),
	}
	if h.opts.Rate > 0 {
		s.limiter = newTokenBucket(h.opts.Rate, h.opts.Burst, s.opened)
	}
	return s
}

// serve runs the reader loop, then checks the camper out if it is still
// checked in, and waits for the writer. When the loop moves to a fresh
// goroutine (see Idler), serve returns at once and that goroutine goes on;
// idle says it is that goroutine, whose first read waits.
func (s *Session) serve(idle bool) {
	moved := false
	defer func() {
		if p := recover(); p != nil {
			s.h.stats.panics.Add(1)
			s.h.log.Error("session panic", "session", s.id, "campId", s.campID, "panic", p, "stack", string(debug.Stack()))
			s.abort("panic", CloseInternal)
		}
		if !moved {
			s.finish()
		}
	}()
	moved = s.readLoop(idle)
}

// readLoop reads and handles requests until the session is to end (it
// returns false) or a checked-in camper's transport is idle: then it
// starts serve on a fresh goroutine, which waits for the next request, and
// returns true. idle: the transport was idle a moment ago; read at once.
func (s *Session) readLoop(idle bool) bool {
	idler, _ := s.t.(Idler)
	buffered, _ := s.t.(FrameBufferer)
	for {
		// Unless the next request is read whole already, answer the
		// messages in flight; when nothing is left to read, wait for the
		// next request on a fresh goroutine.
		if len(s.inflight) > 0 && (buffered == nil || !buffered.FrameBuffered() || len(s.inflight) >= s.h.opts.Pipeline) {
			s.settle()
		}
		if !idle && idler != nil && s.state == CheckedIn && idler.Idle() {
			go s.serve(true)
			return true
		}
		idle = false
		// Between requests: a camper may be quiet as long as it likes once
		// checked in (keepalives find dead peers); before, only until the
		// checkin deadline.
		var idle time.Time
		if s.state != CheckedIn && s.staff == "" {
			idle = s.opened.Add(s.h.opts.CheckinTimeout)
		}
		req, err := s.t.Next(idle)
		s.frameAt = time.Now()
		if err != nil {
			s.settle()
			s.readEnded(err)
			return false
		}
		if s.limiter != nil && !s.limiter.allow(s.frameAt) {
			s.settle()
			s.h.stats.rateLimited.Add(1)
			perr := campbus.Errorf(http.StatusTooManyRequests, campbus.CodeRateLimited,
				"too many requests: at most %g a second (bursts of %d); slow down", s.h.opts.Rate, s.h.opts.Burst)
			s.logRequestFor(req, perr.Status, perr.Code)
			s.respond(req.ID, perr)
			continue
		}
		if !s.handle(req) {
			s.closeAfterFlush(CloseNormal)
			return false
		}
	}
}

// readEnded answers and counts why the reader stops.
func (s *Session) readEnded(err error) {
	var perr *campbus.Error
	switch {
	case errors.As(err, &perr):
		s.h.stats.frameErrors.Add(1)
		s.logRequest("-", perr.Status, perr.Code)
		s.respond("", perr)
		why := CloseBadFrame
		if perr.Code == campbus.CodeTooLarge {
			why = CloseTooLarge
		}
		s.closeAfterFlush(why)
	case errors.Is(err, ErrIdle):
		s.h.stats.checkinTimeouts.Add(1)
		s.h.log.Info("connection closed", "session", s.id, "reason", "checkin timeout", "remote", s.remote)
	case errors.Is(err, ErrFrameTimeout):
		s.h.stats.frameTimeouts.Add(1)
		s.h.log.Info("connection closed", "session", s.id, "campId", s.campID, "reason", "frame timeout", "remote", s.remote)
	case errors.Is(err, io.EOF) || errors.Is(err, ErrWoken) || s.isClosing():
	default:
		s.h.log.Debug("read ended", "session", s.id, "err", err)
	}
}

// handle answers one request. It returns false when the session is to end
// after the response (checkout).
func (s *Session) handle(req *Request) bool {
	cmd, ok := campbus.LookupCommand(req.Command)
	var perr *campbus.Error
	switch {
	case !ok:
		perr = campbus.UnknownCommand(req.Command)
	case req.Method != "" && req.Method != http.MethodPost:
		perr = campbus.Errorf(http.StatusMethodNotAllowed, campbus.CodeMethodNotAllowed, "use POST, not %s", clip(req.Method))
	case cmd.Staff && s.staff == "":
		perr = campbus.Errorf(http.StatusForbidden, campbus.CodeForbidden,
			"%s is for staff: sign in first with staff {\"token\": ...} (campbus token --staff NAME mints one)", cmd.Name)
	case cmd.Staff && !s.frameAt.Before(s.staffUntil):
		perr = campbus.Errorf(http.StatusForbidden, campbus.CodeForbidden,
			"your staff token has expired; sign in again with a new one")
	case cmd.Name == campbus.CmdCheckin && s.staff != "":
		perr = campbus.Errorf(http.StatusForbidden, campbus.CodeForbidden,
			"a staff connection holds no seat; open another connection to check in as a camper")
	case cmd.NeedsCheckin && s.state != CheckedIn:
		perr = campbus.Errorf(http.StatusForbidden, campbus.CodeNotCheckedIn, "check in first: send checkin with your campId")
	case cmd.RefusedAfterCheckin && s.state == CheckedIn:
		perr = campbus.Errorf(http.StatusConflict, campbus.CodeAlreadyCheckedIn, "this connection is already checked in as %s", s.campID)
	case s.h.isDraining():
		perr = campbus.Errorf(http.StatusServiceUnavailable, campbus.CodeShuttingDown, "the server is shutting down")
	}
	if perr == nil && cmd.Name == campbus.CmdMessage && s.h.opts.Pipeline > 1 {
		s.sendPipelined(&bus.Request{Command: cmd.Name, Conn: s.busID, CampID: s.campID, Group: s.group, Body: req.Body}, req.ID)
		return true
	}
	// Anything else is answered after the messages before it.
	s.settle()
	if perr != nil {
		s.logRequestFor(req, perr.Status, perr.Code)
		s.respond(req.ID, perr)
		return true
	}
	switch cmd.Name {
	case campbus.CmdCheckin:
		s.checkin(req)
		return true
	case campbus.CmdCheckout:
		return !s.checkout(req, campbus.ReasonCheckout)
	case campbus.CmdStaff:
		s.signInStaff(req)
		return true
	}
	reply := s.request(&bus.Request{Command: cmd.Name, Conn: s.busID, CampID: s.campID, Group: s.group, Staff: s.staff, Body: req.Body})
	if reply.Status == http.StatusForbidden && reply.Code == campbus.CodeNotCheckedIn {
		// The camp no longer knows this camper (a checkout whose answer
		// was lost, a sweep while the node was cut off): neither does the
		// session.
		s.forget()
	}
	s.logRequest(cmd.Name, reply.Status, reply.Code)
	s.send(s.t.Codec().Response(reply.Status, req.ID, reply.Body))
	return true
}

// checkin is the one place a camper checks in. Directs to the campId it
// names reach the session from the moment the checkin leaves (they are
// held, with every event, until the response is queued), so none sent
// right after the camper's join is lost.
func (s *Session) checkin(req *Request) {
	if perr := s.tokenThrottled(); perr != nil {
		s.logRequestFor(req, perr.Status, perr.Code)
		s.respond(req.ID, perr)
		return
	}
	body, verdict := s.judgeToken(req.Body)
	claimed := checkinID(body)
	s.state = CheckingIn
	s.hold()
	if claimed != "" {
		s.h.reg.claim(s, claimed)
	}
	reply := s.request(&bus.Request{Command: campbus.CmdCheckin, Conn: s.busID, Token: verdict, Body: body})
	s.noteTokenOutcome(reply.Code)
	switch {
	case reply.Status == http.StatusOK:
		s.state, s.campID, s.group = CheckedIn, reply.CampID, reply.Group
		if claimed != s.campID {
			s.h.reg.unclaim(s, claimed)
			s.h.reg.claim(s, s.campID)
		}
		s.setCheckedIn(s.campID)
	default:
		if claimed != "" {
			s.h.reg.unclaim(s, claimed)
		}
		s.state = New
	}
	s.logRequestAs(campbus.CmdCheckin, cmp.Or(s.campID, claimed), reply.Status, reply.Code, s.frameAt)
	s.release(s.t.Codec().Response(reply.Status, req.ID, reply.Body), reply.Status == http.StatusOK)
	if mayHaveTakenEffect(reply) && claimed != "" {
		// The checkin may have gone through after all (the answer was lost
		// or came too late): take it back, after the camper has its answer
		// and before this connection's next request. The handler undoes it
		// only if this connection holds the id.
		s.checkoutOnBus(claimed, campbus.ReasonDisconnect)
	}
}

// mayHaveTakenEffect reports whether a failed change may have been stored
// all the same: a fault (500), or no answer in time (503 unavailable).
func mayHaveTakenEffect(r *bus.Reply) bool {
	return r.Status == http.StatusInternalServerError ||
		(r.Status == http.StatusServiceUnavailable && r.Code == campbus.CodeUnavailable)
}

// checkout is the one place a camper checks out: asked for (the response
// is queued, then the session ends) or because its transport ended
// (reason disconnect, no response). It reports whether the camper is out.
func (s *Session) checkout(req *Request, reason string) bool {
	s.state = Leaving
	checkout := &bus.Request{Command: campbus.CmdCheckout, Conn: s.busID, CampID: s.campID, Group: s.group, Reason: reason}
	reply := s.request(checkout)
	// A disconnect's checkout has nobody to answer or to try again: one
	// that failed (a stream electing its leader, say) would leave the
	// campId held by a connection that is gone. Try again a few times,
	// unless the hub shuts down (the node's next start, or the others'
	// sweep of a node gone, checks its campers out).
	for pause := disconnectRetry; req == nil && mayHaveTakenEffect(reply) &&
		pause <= disconnectRetryMax && s.h.Accepting(); pause *= 2 {
		s.h.log.Warn("checkout after a disconnect failed; trying again", "session", s.id, "campId", s.campID,
			"code", reply.Code, "in", pause)
		select {
		case <-s.h.ctx.Done():
		case <-time.After(pause):
		}
		reply = s.request(checkout)
	}
	out := reply.Status == http.StatusOK || reply.Code == campbus.CodeNotCheckedIn
	if req != nil {
		s.logRequest(campbus.CmdCheckout, reply.Status, reply.Code)
		s.send(s.t.Codec().Response(reply.Status, req.ID, reply.Body))
	} else {
		s.h.log.Info("request", "session", s.id, "campId", s.campID, "command", campbus.CmdCheckout,
			"reason", reason, "outcome", outcome(reply), "remote", s.remote)
	}
	if out || req == nil {
		s.forget()
		return reply.Status == http.StatusOK
	}
	s.state = CheckedIn // refused (shutting down, say): still in
	return false
}

// A failed checkout after a disconnect is tried again after disconnectRetry,
// then after twice as long each time, up to disconnectRetryMax.
const (
	disconnectRetry    = 250 * time.Millisecond
	disconnectRetryMax = 4 * time.Second
)

// checkoutOnBus checks campID out for this connection without a response
// to anyone: a checkin taken back.
func (s *Session) checkoutOnBus(campID, reason string) {
	reply := s.request(&bus.Request{Command: campbus.CmdCheckout, Conn: s.busID, CampID: campID, Reason: reason})
	s.h.log.Info("request", "session", s.id, "campId", campID, "command", campbus.CmdCheckout,
		"reason", reason, "outcome", outcome(reply), "remote", s.remote)
}

// forget drops the session's checkin: it is not checked in any more.
func (s *Session) forget() {
	if s.campID != "" {
		s.h.reg.unclaim(s, s.campID)
	}
	s.setCheckedIn("")
	s.state, s.campID, s.group = New, "", 0
}

// request does one request/reply on the bus. Bus failures become 500.
func (s *Session) request(req *bus.Request) *bus.Reply {
	ctx, cancel := context.WithTimeout(s.h.ctx, s.h.opts.RequestTimeout)
	defer cancel()
	// The handler drops a request whose asker has stopped waiting.
	req.Deadline, _ = ctx.Deadline()
	m, err := s.h.nc.RequestMsgWithContext(ctx, req.Msg())
	var reply *bus.Reply
	if err == nil {
		reply, err = bus.ParseReply(m)
	}
	if err != nil {
		return s.busFailure(req.Command, err)
	}
	return reply
}

// busFailure is the reply to a request the bus did not answer: 503
// unavailable when nobody answered in time (the handlers' node lost, or
// the camp electing: the camper tries again, PROTOCOL.md §11), 500 for any
// other fault. Either way the request may have taken effect.
func (s *Session) busFailure(command string, err error) *bus.Reply {
	perr := campbus.Errorf(http.StatusInternalServerError, campbus.CodeInternal,
		"internal error; the request may not have taken effect")
	if bus.NoAnswer(err) || errors.Is(err, errNoAnswer) {
		s.h.log.Warn("no answer from the camp in time", "session", s.id, "command", command, "err", err)
		perr = campbus.Unavailable(command)
	} else {
		s.h.log.Error("bus request failed", "session", s.id, "command", command, "err", err)
	}
	b, _ := json.Marshal(perr)
	return &bus.Reply{Status: perr.Status, Code: perr.Code, Body: b}
}

func outcome(r *bus.Reply) string {
	if r.Status == http.StatusOK {
		return "success"
	}
	return r.Code
}

// checkinID returns the campId a checkin body names, or "" if it names none.
func checkinID(body []byte) string {
	var req campbus.CheckinRequest
	if json.Unmarshal(body, &req) != nil {
		return ""
	}
	return req.CampID
}

// respond queues an error response.
func (s *Session) respond(reqID string, perr *campbus.Error) {
	b, _ := json.Marshal(perr)
	s.send(s.t.Codec().Response(perr.Status, reqID, b))
}

// logRequest logs an answered request (one line per request) and reports it
// to the observer, under "unknown" for a name that is no command, so that
// no client can make up metric labels. It is called before the response is
// queued: a camper that has the response finds the request counted.
func (s *Session) logRequest(command string, status int, code string) {
	s.logRequestSince(command, status, code, s.frameAt)
}

// logRequestFor is logRequest for req. A connection that is not checked in
// has no campId of its own: the line of its checkin, refused, names the
// campId the checkin asked for.
func (s *Session) logRequestFor(req *Request, status int, code string) {
	campID := s.campID
	if campID == "" && req.Command == campbus.CmdCheckin {
		campID = checkinID(req.Body)
	}
	s.logRequestAs(req.Command, campID, status, code, s.frameAt)
}

// logRequestSince is logRequest for a request read at at.
func (s *Session) logRequestSince(command string, status int, code string, at time.Time) {
	s.logRequestAs(command, s.campID, status, code, at)
}

// logRequestAs is logRequestSince with the campId the line names.
func (s *Session) logRequestAs(command, campID string, status int, code string, at time.Time) {
	out := "success"
	if status != http.StatusOK {
		out = code
	}
	s.h.log.Info("request", "session", s.id, "campId", clip(campID), "command", clip(command),
		"outcome", out, "group", s.group, "transport", s.t.Name(), "remote", s.remote)
	label := command
	if _, ok := campbus.LookupCommand(command); !ok && command != "-" {
		label = "unknown"
	}
	s.h.opts.Observer.Request(s.t.Name(), label, status, time.Since(at))
}

// end tells the camper why the session ends (a shutdown event) and stops
// the reader; the reader then checks the camper out (if it still holds its
// checkin) and the transport closes with why.
func (s *Session) end(reason string, why CloseReason) {
	body, _ := json.Marshal(campbus.Event{Type: campbus.EventShutdown, Reason: reason})
	s.endWith(s.t.Codec().Event(campbus.EventShutdown, body), why)
}

// endWith sends frame, the session's last, and stops the reader, as end
// does.
func (s *Session) endWith(frame []byte, why CloseReason) {
	s.send(frame)
	s.mu.Lock()
	s.woken, s.closeWhy = true, why
	s.mu.Unlock()
	s.t.Wake()
}

// finish runs when the reader is done: a camper still checked in is checked
// out with reason disconnect, then the session is forgotten and the
// transport closed once what is queued is written.
func (s *Session) finish() {
	s.settle()
	if s.state == CheckedIn {
		s.checkout(nil, campbus.ReasonDisconnect)
	}
	s.state = Closed
	s.h.removeSession(s)
	s.mu.Lock()
	why := s.closeWhy
	s.mu.Unlock()
	s.closeAfterFlush(why)
	s.writers.Wait()
	_ = s.t.Close(why)
	s.h.wg.Done()
}

// The registry's view of the session; regMu guards it.

func (s *Session) attach(n int) bool {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	if s.retired {
		return false
	}
	s.attached = n
	return true
}

func (s *Session) detach(n int) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	if s.attached == n {
		s.attached = 0
	}
}

func (s *Session) addClaim(campID string) bool {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	if s.retired {
		return false
	}
	s.claims[campID] = true
	return true
}

func (s *Session) dropClaim(campID string) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	delete(s.claims, campID)
}

// retire marks the session gone and returns where the registry has it.
func (s *Session) retire() (group int, claims []string) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.retired = true
	for id := range s.claims {
		claims = append(claims, id)
	}
	return s.attached, claims
}

func (s *Session) setCheckedIn(campID string) {
	s.regMu.Lock()
	s.checkedIn, s.checkedAt = campID, time.Now()
	s.regMu.Unlock()
}

func (s *Session) checkedInAs() (string, time.Time) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	return s.checkedIn, s.checkedAt
}
