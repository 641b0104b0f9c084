package session

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// A camper may send its next messages before the first is answered. While
// the transport has the next request read whole already (FrameBufferer),
// the session sends a message request on the bus and reads on instead of
// waiting: up to Options.Pipeline messages are on the bus at once. Their
// responses are written in the order the requests came, before the response
// to anything else, before any read that could wait, and when the window
// is full. The handlers decide one group's messages in the order they
// are published (handlers/inorder.go), so a camper's messages keep its order.
// Only messages go this way: every other command changes what the session
// is or reads what the messages before it did, and waits for them.

// inflight is a message request on the bus whose response is not yet
// queued.
type inflight struct {
	reqID    string // the camper's request id, echoed in the response
	token    string // the last token of its reply subject
	reply    chan *nats.Msg
	deadline time.Time
	at       time.Time // when its frame was read
	err      error     // the publish failed
}

// replies routes the answers to pipelined requests: one subscription per
// hub to <inbox>.*, each answer to the request its subject names.
type replies struct {
	inbox string
	mu    sync.Mutex
	next  uint64
	wait  map[string]chan *nats.Msg
}

// subscribe starts the replies' subscription on nc.
func (rs *replies) subscribe(nc *nats.Conn) (*nats.Subscription, error) {
	rs.inbox = nats.NewInbox()
	rs.wait = map[string]chan *nats.Msg{}
	return nc.Subscribe(rs.inbox+".*", func(m *nats.Msg) {
		tok := m.Subject[len(rs.inbox)+1:]
		rs.mu.Lock()
		ch := rs.wait[tok]
		delete(rs.wait, tok)
		rs.mu.Unlock()
		if ch != nil {
			ch <- m // buffered: one answer per request
		}
	})
}

// expect registers a request and returns its token and where its answer
// will come.
func (rs *replies) expect() (string, chan *nats.Msg) {
	ch := make(chan *nats.Msg, 1)
	rs.mu.Lock()
	rs.next++
	tok := strconv.FormatUint(rs.next, 36)
	rs.wait[tok] = ch
	rs.mu.Unlock()
	return tok, ch
}

// forget drops a request whose answer nobody waits for any more.
func (rs *replies) forget(tok string) {
	rs.mu.Lock()
	delete(rs.wait, tok)
	rs.mu.Unlock()
}

// sendPipelined publishes a message request and leaves its answer to settle.
func (s *Session) sendPipelined(req *bus.Request, reqID string) {
	rs := &s.h.replies
	p := &inflight{reqID: reqID, at: s.frameAt, deadline: time.Now().Add(s.h.opts.RequestTimeout)}
	p.token, p.reply = rs.expect()
	// The handler drops a request whose asker has stopped waiting.
	req.Deadline = p.deadline
	m := req.Msg()
	m.Reply = rs.inbox + "." + p.token
	if p.err = s.h.nc.PublishMsg(m); p.err != nil {
		rs.forget(p.token)
	}
	s.inflight = append(s.inflight, p)
}

// settle waits for the answers of the messages in flight, oldest first, and
// queues their responses; those that came together are written together.
func (s *Session) settle() {
	if len(s.inflight) == 0 {
		return
	}
	var timer *time.Timer
	for i, p := range s.inflight {
		if p == nil {
			continue // queued before a panic cut this loop short
		}
		s.inflight[i] = nil
		reply := s.await(p, &timer)
		if reply.Status == http.StatusForbidden && reply.Code == campbus.CodeNotCheckedIn && s.state == CheckedIn {
			s.forget() // as handle does
		}
		s.logRequestSince(campbus.CmdMessage, reply.Status, reply.Code, p.at)
		s.queueOnly(s.t.Codec().Response(reply.Status, p.reqID, reply.Body))
	}
	s.flushQueued()
	if timer != nil {
		timer.Stop()
	}
	s.inflight = s.inflight[:0]
}

// await returns p's answer, or a 503 when it does not come by its deadline
// (a 500 when the hub stops waiting for the bus).
func (s *Session) await(p *inflight, timer **time.Timer) *bus.Reply {
	err := p.err
	if err == nil {
		var m *nats.Msg
		select {
		case m = <-p.reply:
		default:
			s.flushQueued() // what is answered goes out meanwhile
			wait := time.Until(p.deadline)
			if *timer == nil {
				*timer = time.NewTimer(wait)
			} else {
				(*timer).Reset(wait)
			}
			select {
			case m = <-p.reply:
			case <-(*timer).C:
				err = errNoAnswer
			case <-s.h.ctx.Done():
				err = s.h.ctx.Err()
			}
		}
		if err == nil {
			var reply *bus.Reply
			if reply, err = bus.ParseReply(m); err == nil {
				return reply
			}
		}
		s.h.replies.forget(p.token)
	}
	return s.busFailure(campbus.CmdMessage, err)
}

// errNoAnswer is a pipelined request that got no answer by its deadline.
var errNoAnswer = errors.New("no answer from the handlers in time")
