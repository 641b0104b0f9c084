package tcpfront

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/wire"
)

// conn is one camper's TCP connection.
type conn struct {
	s      *Server
	id     uint64 // the session number in logs
	busID  string // node.id, how the bus names this connection
	nc     net.Conn
	remote string

	// mu guards what follows. While a checkin is in flight the events that
	// reach the connection are held, so that the camper reads its checkin
	// response before anything that followed its join.
	mu      sync.Mutex
	holding bool
	held    [][]byte
	// queue holds the frames the writer has yet to write, queued their
	// bytes (until written); both are bounded by the options.
	queue   [][]byte
	queued  int
	writing bool // a writer goroutine runs (see writer.go)
	// closing: no more frames are queued; the writer closes the socket
	// once the queue is written. closed: the socket is closed.
	closing bool
	closed  bool
	// draining is set when the server shuts down: the reader must not set
	// a new read deadline past the one that wakes it.
	draining bool
	writers  sync.WaitGroup

	// Guarded by Server.mu.
	attached  int             // the group whose events this connection gets, 0 for none
	claims    map[string]bool // campIds this connection holds or is checking in as
	checkedIn string          // the campId once the checkin succeeded

	// Owned by the reader goroutine.
	campID  string
	group   int
	opened  time.Time
	frameAt time.Time    // when the request in hand was read
	limiter *tokenBucket // nil: no rate limit
}

func newConn(s *Server, id uint64, nc net.Conn) *conn {
	c := &conn{
		s:      s,
		id:     id,
		busID:  s.opts.Instance.ConnID(id),
		nc:     nc,
		remote: nc.RemoteAddr().String(),
		claims: map[string]bool{},
		opened: time.Now(),
	}
	if s.opts.Rate > 0 {
		c.limiter = newTokenBucket(s.opts.Rate, s.opts.Burst, c.opened)
	}
	return c
}

// serve runs the reader loop, then checks the camper out if the connection
// ended without checkout, and waits for the writer.
func (c *conn) serve() {
	defer c.s.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			c.s.stats.panics.Add(1)
			c.s.log.Error("connection panic", "session", c.id, "campId", c.campID, "panic", p, "stack", string(debug.Stack()))
			c.abort("panic")
		}
		c.finish()
	}()
	c.s.log.Debug("connected", "session", c.id, "remote", c.remote)

	r := wire.NewReader(c.nc, c.s.opts.Limits)
	for {
		// Between frames: a camper may be quiet as long as it likes once
		// checked in (keepalive finds dead peers); before, only until the
		// checkin deadline.
		var idle time.Time
		if c.campID == "" {
			idle = c.opened.Add(c.s.opts.CheckinTimeout)
		}
		if !c.setReadDeadline(idle) {
			return
		}
		if err := r.Wait(); err != nil {
			c.readEnded(err, false)
			return
		}
		// A frame has begun: it must be whole within FrameTimeout.
		if !c.setReadDeadline(time.Now().Add(c.s.opts.FrameTimeout)) {
			return
		}
		f, err := r.ReadFrame()
		c.frameAt = time.Now()
		if err != nil {
			c.readEnded(err, true)
			return
		}
		if c.limiter != nil && !c.limiter.allow(time.Now()) {
			c.s.stats.rateLimited.Add(1)
			perr := campbus.Errorf(http.StatusTooManyRequests, campbus.CodeRateLimited,
				"too many requests: at most %g a second (bursts of %d); slow down", c.s.opts.Rate, c.s.opts.Burst)
			c.respond(perr.Status, f.Get(wire.FieldRequestID), perr)
			c.logRequest(f.Name(), perr.Status, perr.Code)
			continue
		}
		if !c.handle(f) {
			c.closeAfterFlush()
			return
		}
	}
}

// setReadDeadline sets the read deadline (zero: none) unless the server is
// draining, in which case the reader must stop.
func (c *conn) setReadDeadline(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return false
	}
	_ = c.nc.SetReadDeadline(t)
	return true
}

// readEnded answers and counts why the reader stops. A timeout means a
// frame left unfinished when inFrame, else no checkin in time.
func (c *conn) readEnded(err error, inFrame bool) {
	var perr *campbus.Error
	var ne net.Error
	switch {
	case errors.As(err, &perr):
		c.s.stats.frameErrors.Add(1)
		c.respond(perr.Status, "", perr)
		c.logRequest("-", perr.Status, perr.Code)
		c.closeAfterFlush()
	case errors.As(err, &ne) && ne.Timeout() && !c.isDraining():
		reason := "checkin timeout"
		if inFrame {
			reason = "frame timeout"
			c.s.stats.frameTimeouts.Add(1)
		} else {
			c.s.stats.checkinTimeouts.Add(1)
		}
		c.s.log.Info("connection closed", "session", c.id, "campId", c.campID, "reason", reason, "remote", c.remote)
	case errors.Is(err, io.EOF) || c.isClosed() || c.isDraining():
	default:
		c.s.log.Debug("read ended", "session", c.id, "err", err)
	}
}

func (c *conn) isDraining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

// handle answers one frame. It returns false when the connection is to be
// closed after the response (checkout).
func (c *conn) handle(f *wire.Frame) bool {
	reqID := f.Get(wire.FieldRequestID)
	if f.IsResponse() {
		err := campbus.Errorf(http.StatusBadRequest, campbus.CodeMalformed, "clients send requests, not responses")
		c.respond(err.Status, reqID, err)
		c.logRequest("-", err.Status, err.Code)
		return false
	}
	name := f.Name()
	cmd, ok := campbus.LookupCommand(name)
	var perr *campbus.Error
	switch {
	case !ok:
		perr = campbus.UnknownCommand(name)
	case f.Method != wire.MethodPost:
		perr = campbus.Errorf(http.StatusMethodNotAllowed, campbus.CodeMethodNotAllowed, "use POST, not %s", clip(f.Method))
	case cmd.NeedsCheckin && c.campID == "":
		perr = campbus.Errorf(http.StatusForbidden, campbus.CodeNotCheckedIn, "check in first: send checkin with your campId")
	case cmd.RefusedAfterCheckin && c.campID != "":
		perr = campbus.Errorf(http.StatusConflict, campbus.CodeAlreadyCheckedIn, "this connection is already checked in as %s", c.campID)
	case c.s.isDraining():
		perr = campbus.Errorf(http.StatusServiceUnavailable, campbus.CodeShuttingDown, "the server is shutting down")
	}
	if perr != nil {
		c.respond(perr.Status, reqID, perr)
		c.logRequest(name, perr.Status, perr.Code)
		return true
	}
	return c.forward(cmd.Name, reqID, f.Body)
}

// forward sends a request over the bus and writes the handler's response.
func (c *conn) forward(command, reqID string, body []byte) bool {
	req := &bus.Request{Command: command, Conn: c.busID, CampID: c.campID, Group: c.group, Body: body}
	var claimed string
	if command == campbus.CmdCheckin {
		claimed = checkinID(body)
		c.hold()
		if claimed != "" {
			c.s.claim(c, claimed)
		}
	}
	reply := c.request(req)

	switch {
	case command == campbus.CmdCheckin && reply.Status == http.StatusOK:
		c.campID, c.group = reply.CampID, reply.Group
		if claimed != c.campID {
			c.s.unclaim(c, claimed)
			c.s.claim(c, c.campID)
		}
		c.s.settle(c, c.campID)
	case command == campbus.CmdCheckin && reply.Status == http.StatusInternalServerError && claimed != "":
		// The checkin may have gone through after all (the answer was lost
		// or came too late): take it back. The handler undoes it only if
		// this connection holds the id.
		c.checkout(claimed, campbus.ReasonDisconnect)
		c.s.unclaim(c, claimed)
	case command == campbus.CmdCheckin && claimed != "":
		c.s.unclaim(c, claimed)
	case reply.Status == http.StatusForbidden && c.campID != "" && reply.Code == campbus.CodeNotCheckedIn:
		// The handlers no longer know this camper (a checkout whose answer
		// was lost, say): the connection is not checked in either.
		c.s.unclaim(c, c.campID)
		c.s.settle(c, "")
		c.campID, c.group = "", 0
	}
	frame := wire.AppendResponse(nil, reply.Status, reqID, reply.Body)
	if command == campbus.CmdCheckin {
		c.release(frame, reply.Status == http.StatusOK)
	} else {
		c.send(frame)
	}
	outcome := "success"
	if reply.Status != http.StatusOK {
		outcome = reply.Code
	}
	c.logRequest(command, reply.Status, outcome)
	if command == campbus.CmdCheckout && reply.Status == http.StatusOK {
		c.s.settle(c, "")
		c.campID = ""
		return false
	}
	return true
}

// request does one request/reply on the bus. Bus failures become 500.
func (c *conn) request(req *bus.Request) *bus.Reply {
	ctx, cancel := context.WithTimeout(c.s.ctx, c.s.opts.RequestTimeout)
	defer cancel()
	// The handler drops a request whose asker has stopped waiting.
	req.Deadline, _ = ctx.Deadline()
	m, err := c.s.nc.RequestMsgWithContext(ctx, req.Msg())
	var reply *bus.Reply
	if err == nil {
		reply, err = bus.ParseReply(m)
	}
	if err != nil {
		c.s.log.Error("bus request failed", "session", c.id, "command", req.Command, "err", err)
		perr := campbus.Errorf(http.StatusInternalServerError, campbus.CodeInternal,
			"internal error; the request may not have taken effect")
		b, _ := json.Marshal(perr)
		return &bus.Reply{Status: perr.Status, Code: perr.Code, Body: b}
	}
	return reply
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
func (c *conn) respond(status int, reqID string, perr *campbus.Error) {
	b, _ := json.Marshal(perr)
	c.send(wire.AppendResponse(nil, status, reqID, b))
}

// logRequest logs an answered request (one line per request) and reports it
// to the observer, under "unknown" for a name that is no command, so that
// no client can make up metric labels.
func (c *conn) logRequest(command string, status int, outcome string) {
	c.s.log.Info("request", "session", c.id, "campId", c.campID, "command", command,
		"outcome", outcome, "group", c.group, "remote", c.remote)
	label := command
	if _, ok := campbus.LookupCommand(command); !ok && command != "-" {
		label = "unknown"
	}
	c.s.opts.Observer.Request(label, status, time.Since(c.frameAt))
}

// hold starts holding events until release.
func (c *conn) hold() {
	c.mu.Lock()
	c.holding = true
	c.mu.Unlock()
}

// release queues the checkin response, then the events held meanwhile (kept
// only if the checkin succeeded: until then only directs to a campId the
// connection did not get can have arrived).
func (c *conn) release(response []byte, keep bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sendLocked(response)
	if keep {
		for _, f := range c.held {
			c.sendLocked(f)
		}
	}
	c.held, c.holding = nil, false
}

// deliver queues an event frame, or holds it during a checkin.
func (c *conn) deliver(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holding {
		if len(c.held) >= c.s.opts.OutboundFrames {
			c.overflowLocked()
			return
		}
		c.held = append(c.held, frame)
		return
	}
	c.sendLocked(frame)
}

func (c *conn) send(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sendLocked(frame)
}

// shutdown tells the camper the server is going away and ends the reader;
// the reader then checks the camper out and closes.
func (c *conn) shutdown() { c.end("server shutting down") }

// end sends the camper a shutdown event with reason and ends the reader;
// the reader then checks the camper out (if it still holds its checkin)
// and closes.
func (c *conn) end(reason string) {
	body, _ := json.Marshal(campbus.Event{Type: campbus.EventShutdown, Reason: reason})
	c.send(wire.AppendEvent(nil, campbus.EventShutdown, body))
	// Wake the reader: it finishes the request in hand, then sees the
	// deadline on its next read and stops.
	c.mu.Lock()
	c.draining = true
	_ = c.nc.SetReadDeadline(time.Now())
	c.mu.Unlock()
}

// finish runs when the reader is done: a camper still checked in is checked
// out with reason disconnect, then the connection is forgotten and closed.
func (c *conn) finish() {
	if c.campID != "" {
		c.checkout(c.campID, campbus.ReasonDisconnect)
		c.campID = ""
	}
	c.s.removeConn(c)
	c.closeAfterFlush()
	c.writers.Wait()
	c.nc.Close()
}

// checkout checks campID out on behalf of this connection, for a reason
// other than the camper's own request.
func (c *conn) checkout(campID, reason string) {
	reply := c.request(&bus.Request{Command: campbus.CmdCheckout, Conn: c.busID, CampID: campID, Reason: reason})
	outcome := "success"
	if reply.Status != http.StatusOK {
		outcome = reply.Code
	}
	c.s.log.Info("request", "session", c.id, "campId", campID, "command", campbus.CmdCheckout,
		"reason", reason, "outcome", outcome, "remote", c.remote)
}

// clip shortens untrusted text quoted in error sentences.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
