package handlers

import (
	"sync"

	"github.com/nats-io/nats.go"
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
		for i, qr := range reqs {
			s.serveRequest(qr.m, qr.r)
			reqs[i] = queuedRequest{}
			<-s.queued
		}
	}
}
