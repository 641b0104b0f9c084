package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// History limits (PROTOCOL.md §5).
const (
	DefaultHistory = 50
	MaxHistory     = 1000
)

// storedEvent is one event read back from the log.
type storedEvent struct {
	at   time.Time
	data json.RawMessage
}

// history handles POST /history {"limit":20}: the last limit events of the
// caller's group (by group number, so across restarts) and of the directs
// sent to or by the caller, merged by the time they were stored, oldest
// first.
func (s *Service) history(ctx context.Context, r *request) (any, error) {
	f, err := decodeBody(r.Body)
	if err != nil {
		return nil, err
	}
	limit := DefaultHistory
	if _, present := f["limit"]; present {
		var ok bool
		if limit, ok = f.integer("limit", 1, MaxHistory); !ok {
			return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadLimit,
				`"limit" must be an integer from 1 to %d`, MaxHistory)
		}
	}
	var all []storedEvent
	// Read apart: a direct to oneself matches both direct filters, and
	// JetStream refuses overlapping filters on one consumer.
	for _, q := range []struct {
		stream  jetstream.Stream
		subject string
	}{
		{s.groups, bus.LogGroupSubject(r.Group)},
		{s.directs, bus.LogDirectSubject(r.CampID, "*")},
		{s.directs, bus.LogDirectSubject("*", r.CampID)},
	} {
		evs, err := s.tail(ctx, q.stream, q.subject, limit)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", r.CampID, err)
		}
		all = append(all, evs...)
	}
	slices.SortStableFunc(all, func(a, b storedEvent) int { return a.at.Compare(b.at) })
	// A direct to oneself was read twice: drop the second copy.
	all = slices.CompactFunc(all, func(a, b storedEvent) bool { return a.at.Equal(b.at) && string(a.data) == string(b.data) })
	if len(all) > limit {
		all = all[len(all)-limit:]
	}
	resp := campbus.HistoryResponse{Events: make([]json.RawMessage, len(all))}
	for i, ev := range all {
		resp.Events[i] = ev.data
	}
	return resp, nil
}

// tail returns the last limit events stored in stream under subject (which
// may hold wildcards), oldest first. It reads the subject's events from the
// oldest kept: GROUPS keeps at most bus.DefaultGroupEvents per group, and
// DIRECTS's age and size limits bound the rest. The consumer it reads with
// lives in memory and is deleted at once.
func (s *Service) tail(ctx context.Context, stream jetstream.Stream, subject string, limit int) ([]storedEvent, error) {
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return nil, err
	}
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	if total == 0 {
		return nil, nil
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject:     subject,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: time.Minute, // in case the delete below is lost
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel()
		if err := stream.DeleteConsumer(dctx, cons.CachedInfo().Name); err != nil {
			s.log.Warn("history: delete consumer", "err", err)
		}
	}()
	// A ring of the last limit events: once full, next is the oldest slot.
	ring := make([]storedEvent, 0, min(uint64(limit), total))
	next := 0
	for read := uint64(0); read < total; {
		batch, err := cons.Fetch(int(min(total-read, 256)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		got, last := 0, false
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			ev := storedEvent{at: md.Timestamp, data: json.RawMessage(m.Data())}
			if len(ring) < limit {
				ring = append(ring, ev)
			} else {
				ring[next] = ev
				next = (next + 1) % limit
			}
			last = md.NumPending == 0
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		read += uint64(got)
		if got == 0 || last {
			break // retention removed some while we read; nothing more
		}
	}
	return append(ring[next:], ring[:next]...), nil
}
