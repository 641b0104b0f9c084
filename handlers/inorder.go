package handlers

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// A front-end may have several of one camper's messages on the bus at once
// (session.Options.Pipeline). They must be decided in the order they were
// sent, and the worker pool takes requests in any order. So message
// requests do not go to the pool one by one: the subscription's callback,
// which sees them in the order they were published, puts each in its
// group's queue, and a group's queue is worked through by one worker at a
// time, oldest first. Changes to one group were already serialised on a
// node (updateGroup), so this costs no concurrency; it also spares the
// workers that would wait on the group's lock.

// job is what the workers take: a request to serve, or a group whose
// queued messages to serve in order.
type job struct {
	m     *nats.Msg
	group int
}

// queuedRequest is a message request waiting in its group's queue.
type queuedRequest struct {
	m *nats.Msg
	r *request
}

// groupQueues holds the queued message requests of each group.
type groupQueues struct {
	mu sync.Mutex
	q  map[int]*groupQueue
}

type groupQueue struct {
	reqs []queuedRequest
	// owned is set while a worker has the queue (or is about to: its job
	// is in the pool's channel).
	owned bool
}

// push queues a request for group n. It reports whether the group needs a
// worker: the caller then hands the pool a job for it.
func (gq *groupQueues) push(n int, qr queuedRequest) bool {
	gq.mu.Lock()
	defer gq.mu.Unlock()
	if gq.q == nil {
		gq.q = map[int]*groupQueue{}
	}
	q := gq.q[n]
	if q == nil {
		q = &groupQueue{}
		gq.q[n] = q
	}
	q.reqs = append(q.reqs, qr)
	if q.owned {
		return false
	}
	q.owned = true
	return true
}

// take returns what group n has queued, oldest first, for the worker that
// owns the queue. When nothing is left the queue is dropped and the worker
// gives it up: the next push asks for a worker again.
func (gq *groupQueues) take(n int) []queuedRequest {
	gq.mu.Lock()
	defer gq.mu.Unlock()
	q := gq.q[n]
	if q == nil {
		return nil
	}
	if len(q.reqs) == 0 {
		delete(gq.q, n)
		return nil
	}
	reqs := q.reqs
	q.reqs = nil
	return reqs
}

// runGroup serves group n's queued messages in order until none is left.
func (s *Service) runGroup(n int) {
	for {
		reqs := s.inOrder.take(n)
		if reqs == nil {
			return
		}
		for len(reqs) > 0 {
			k := 0
			if s.opts.SoleWriter && len(reqs) > 1 {
				k = s.appendMessages(n, reqs)
			}
			if k == 0 {
				s.serveRequest(reqs[0].m, reqs[0].r)
				k = 1
			}
			for i := range k {
				reqs[i] = queuedRequest{}
				<-s.queued
			}
			reqs = reqs[k:]
		}
	}
}

// appendMessages appends several of group n's queued messages without
// waiting for each acknowledgement, on a node that is the only writer of
// the streams (Options.SoleWriter). It answers reqs[:k] and returns k; 0
// when this node does not have the group's state at hand (the first
// message then goes the ordinary way, which reads it).
//
// The group's lock is held throughout, so nothing else on the node
// changes the group meanwhile, and no other node writes: the state kept
// in memory is the group's own, and each message is decided on the state
// the ones before it leave, as updateGroup would one at a time. The first
// event is appended with the compare-and-set on the group's last event
// and acknowledged before the others go, so the batch starts from the
// state the log has; the others are published together, in order, and
// their acknowledgements awaited after. If one of those fails, the ones
// after it may still be stored, each carrying a state that counted the
// failed one: its sender gets a 500 (the request may not have taken
// effect), the group's offsets skip one, and its session counts one
// message more than the log holds. The state kept in memory is dropped
// then, and the next change reads the log's.
func (s *Service) appendMessages(n int, reqs []queuedRequest) (answered int) {
	lock := &s.groupLocks[n%len(s.groupLocks)]
	lock.Lock()
	defer lock.Unlock()
	st, seq, kept := s.groupCache.get(n)
	if !kept {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()

	type published struct {
		qr   queuedRequest
		resp campbus.MessageResponse
		m    *nats.Msg
		st   *groupState
		fut  jetstream.PubAckFuture
		done func()
	}
	var sent []published
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("handler panic", "command", campbus.CmdMessage, "group", n, "panic", p, "stack", string(debug.Stack()))
			s.groupCache.drop(n)
			perr := campbus.Errorf(http.StatusInternalServerError, campbus.CodeInternal, "internal error while handling %s", campbus.CmdMessage)
			for _, p := range sent {
				p.done()
				s.reply(p.qr.m, p.qr.r, nil, perr)
			}
			if answered < len(reqs) {
				s.reply(reqs[answered].m, reqs[answered].r, nil, perr)
				answered++
			}
		}
	}()

	now := s.opts.Now()
	confirmed := false // the first event is appended and acknowledged
	for i, qr := range reqs {
		r := qr.r
		if !r.Deadline.IsZero() && !r.Deadline.After(now) {
			s.log.Warn("request dropped: its deadline passed while it waited", "command", r.Command, "campId", r.CampID)
			answered = i + 1
			continue
		}
		text, err := messageText(r)
		if err != nil {
			s.reply(qr.m, r, nil, err)
			answered = i + 1
			continue
		}
		done, err := s.roomToGrow(ctx, r.Command, eventBytes+len(text), true)
		if err != nil {
			s.reply(qr.m, r, nil, err)
			answered = i + 1
			continue
		}
		next := st.clone()
		ev, resp, err := decideMessage(next, r, text)
		if ev == nil {
			done()
			s.reply(qr.m, r, nil, err)
			answered = i + 1
			continue
		}
		next.Offset = st.Offset + 1
		ev.event.Offset = next.Offset
		m, err := groupEventMsg(n, *ev, next)
		if err != nil {
			done()
			s.reply(qr.m, r, nil, err)
			answered = i + 1
			continue
		}
		if !confirmed {
			// The first: acknowledged before the others go.
			ack, err := s.js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(seq), jetstream.WithMsgID(s.changeID()))
			done()
			if err != nil || ack.Duplicate {
				s.groupCache.drop(n)
				if bus.IsWrongLastSequence(err) {
					// Not the log's state after all: this one and the
					// rest go the ordinary way.
					return i
				}
				if err == nil {
					err = fmt.Errorf("group %d: a new change taken for an earlier one", n)
				}
				s.reply(qr.m, r, nil, fmt.Errorf("group %d: %w", n, err))
				return i + 1
			}
			s.appended(n, m, next, ack.Sequence)
			s.groupCache.put(n, next, ack.Sequence)
			st, confirmed = next, true
			s.reply(qr.m, r, resp, nil)
			answered = i + 1
			continue
		}
		fut, err := s.js.PublishMsgAsync(m, jetstream.WithMsgID(s.changeID()))
		if err != nil {
			done()
			s.reply(qr.m, r, nil, fmt.Errorf("group %d: %w", n, err))
			answered = i + 1
			break // the state after it is unknown: the rest wait for the next round
		}
		sent = append(sent, published{qr: qr, resp: resp, m: m, st: next, fut: fut, done: done})
		st = next
		answered = i + 1
	}

	failed := false
	for len(sent) > 0 {
		p := sent[0]
		var ack *jetstream.PubAck
		var err error
		select {
		case ack = <-p.fut.Ok():
		case err = <-p.fut.Err():
		case <-ctx.Done():
			err = ctx.Err()
		}
		p.done()
		sent = sent[1:]
		if err != nil {
			failed = true
			s.reply(p.qr.m, p.qr.r, nil, fmt.Errorf("group %d: %w", n, err))
			continue
		}
		s.appended(n, p.m, p.st, ack.Sequence)
		if !failed {
			s.groupCache.put(n, p.st, ack.Sequence)
		}
		s.reply(p.qr.m, p.qr.r, p.resp, nil)
	}
	if failed {
		s.groupCache.drop(n)
	}
	return answered
}
