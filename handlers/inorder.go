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

// pending reports whether group n has requests queued.
func (gq *groupQueues) pending(n int) bool {
	gq.mu.Lock()
	defer gq.mu.Unlock()
	q := gq.q[n]
	return q != nil && len(q.reqs) > 0
}

// runGroup serves group n's queued messages in order. Between two rounds
// it hands the group back to the pool when the pool has room, so that a
// group that is never quiet does not keep a worker from everything else;
// when the pool is full it goes on itself.
func (s *Service) runGroup(n int) {
	for {
		reqs := s.inOrder.take(n)
		if reqs == nil {
			return
		}
		s.serveQueued(n, reqs)
		if s.inOrder.pending(n) && s.requeue(n) {
			return
		}
	}
}

// requeue hands group n's queue, which this worker owns, back to the pool
// without waiting; false when the pool is full or stopping.
func (s *Service) requeue(n int) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.stopped {
		return false
	}
	select {
	case s.work <- job{group: n}:
		return true
	default:
		return false
	}
}

// serveQueued serves one round of group n's queued messages, in order.
func (s *Service) serveQueued(n int, reqs []queuedRequest) {
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
	// The batch's work ends with the first of its askers' deadlines.
	now := s.opts.Now()
	deadline := now.Add(s.opts.Timeout)
	for _, qr := range reqs {
		if d := qr.r.Deadline; !d.IsZero() && d.After(now) {
			deadline = minTime(deadline, d)
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()

	type published struct {
		qr   queuedRequest
		resp campbus.MessageResponse
		m    *nats.Msg
		st   *groupState
		fut  jetstream.PubAckFuture
		done func()
	}
	var (
		sent []published
		// What a panic leaves to answer: the request being decided (and
		// its room reserved), or the one whose ack is being taken.
		deciding = -1
		reserved func()
		acking   *published
	)
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		s.log.Error("handler panic", "command", campbus.CmdMessage, "group", n, "panic", p, "stack", string(debug.Stack()))
		s.groupCache.drop(n)
		perr := campbus.Errorf(http.StatusInternalServerError, campbus.CodeInternal, "internal error while handling %s", campbus.CmdMessage)
		if reserved != nil {
			reserved()
		}
		if deciding >= 0 {
			s.reply(reqs[deciding].m, reqs[deciding].r, nil, perr)
			answered = deciding + 1
		}
		if acking != nil {
			s.reply(acking.qr.m, acking.qr.r, nil, perr)
		}
		for _, p := range sent {
			p.done()
			s.reply(p.qr.m, p.qr.r, nil, perr)
		}
	}()

	confirmed := false // the first event is appended and acknowledged
	for i, qr := range reqs {
		deciding = i
		r := qr.r
		if s.abandoned(r, now) {
			answered = i + 1
			continue
		}
		text, err := messageText(r)
		if err == nil {
			err = s.mutes.check(r.CampID, now)
		}
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
		reserved = done
		// The state kept is the log's (no other writer, and the first
		// append checks it), so a refusal decided on it stands.
		next := st.clone()
		ev, resp, err := decideMessage(next, r, text)
		if ev == nil {
			reserved = nil
			done()
			s.reply(qr.m, r, nil, err)
			answered = i + 1
			continue
		}
		next.Offset = st.Offset + 1
		ev.event.Offset = next.Offset
		m, err := groupEventMsg(n, *ev, next, s.epoch)
		if err != nil {
			reserved = nil
			done()
			s.reply(qr.m, r, nil, err)
			answered = i + 1
			continue
		}
		if !confirmed {
			// The first: acknowledged before the others go.
			ack, err := s.js.PublishMsg(ctx, m, appendOpts(ctx, jetstream.WithExpectLastSequencePerSubject(seq), jetstream.WithMsgID(s.changeID()))...)
			reserved = nil
			done()
			if err != nil || ack.Duplicate {
				s.groupCache.drop(n)
				if bus.IsWrongLastSequence(err) {
					// Not the log's state after all: this one and the
					// rest go the ordinary way.
					deciding = -1
					return i
				}
				if err == nil {
					err = fmt.Errorf("group %d: a new change taken for an earlier one", n)
				}
				s.reply(qr.m, r, nil, fmt.Errorf("group %d: %w", n, err))
				deciding = -1
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
			reserved = nil
			done()
			s.reply(qr.m, r, nil, fmt.Errorf("group %d: %w", n, err))
			answered = i + 1
			break // the state after it is unknown: the rest wait for the next round
		}
		sent = append(sent, published{qr: qr, resp: resp, m: m, st: next, fut: fut, done: done})
		s.unwaited.Add(1)
		reserved = nil
		st = next
		answered = i + 1
	}
	deciding = -1

	failed := false
	for len(sent) > 0 {
		p := sent[0]
		sent = sent[1:]
		acking = &p
		var ack *jetstream.PubAck
		var err error
		select {
		case ack = <-p.fut.Ok():
		case err = <-p.fut.Err():
		case <-ctx.Done():
			err = ctx.Err()
		}
		p.done()
		if err != nil {
			failed = true
			s.reply(p.qr.m, p.qr.r, nil, fmt.Errorf("group %d: %w", n, err))
			acking = nil
			continue
		}
		s.appended(n, p.m, p.st, ack.Sequence)
		if !failed {
			s.groupCache.put(n, p.st, ack.Sequence)
		}
		s.reply(p.qr.m, p.qr.r, p.resp, nil)
		acking = nil
	}
	if failed {
		s.groupCache.drop(n)
	}
	return answered
}
