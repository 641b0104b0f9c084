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
	seq  uint64
	data json.RawMessage
}

// history handles POST /history {"limit":20}: the last limit events of the
// caller's group (across restarts: the group's whole log) and of the directs
// sent to or by the caller, merged in log order, oldest first.
func (s *Service) history(ctx context.Context, r *request) (any, error) {
	f, err := decodeBody(r.body)
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
	// Three filters, read apart: a direct to oneself matches the last two,
	// and JetStream refuses overlapping filters on one consumer.
	for _, subject := range []string{
		bus.LogGroupSubject(r.group),
		bus.LogDirectSubject(r.campID, "*"),
		bus.LogDirectSubject("*", r.campID),
	} {
		evs, err := s.tail(ctx, subject, limit)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", r.campID, err)
		}
		all = append(all, evs...)
	}
	slices.SortFunc(all, func(a, b storedEvent) int { return cmpSeq(a.seq, b.seq) })
	all = slices.CompactFunc(all, func(a, b storedEvent) bool { return a.seq == b.seq })
	if len(all) > limit {
		all = all[len(all)-limit:]
	}
	resp := campbus.HistoryResponse{Events: make([]json.RawMessage, len(all))}
	for i, ev := range all {
		resp.Events[i] = ev.data
	}
	return resp, nil
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// tail returns the last limit events stored under subject (which may hold
// wildcards), oldest first. It reads the subject's events from the start of
// the log, keeping the last limit: the log's retention limits bound the read.
func (s *Service) tail(ctx context.Context, subject string, limit int) ([]storedEvent, error) {
	info, err := s.events.Info(ctx, jetstream.WithSubjectFilter(subject))
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
	cons, err := s.js.OrderedConsumer(ctx, bus.EventsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, err
	}
	// A ring of the last limit events: once full, next is the oldest slot.
	ring := make([]storedEvent, 0, min(uint64(limit), total))
	next := 0
	for read := uint64(0); read < total; {
		batch, err := cons.Fetch(int(min(total-read, 256)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		last := false
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			ev := storedEvent{seq: md.Sequence.Stream, data: json.RawMessage(m.Data())}
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
