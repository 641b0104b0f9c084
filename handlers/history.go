package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// fetchRetry is how long a history read waits before it asks again a
// consumer that nobody answered for.
const fetchRetry = 20 * time.Millisecond

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

// history handles POST /history {"limit":20} or {"after":57,"limit":20},
// and {"after":57,"epoch":"5f0c1a9e2b7d"}: an after with an epoch other
// than the log's gets 409 epoch-changed (PROTOCOL.md §11), as its offset
// counts in another log. The response carries the log's epoch.
//
// With limit alone: the last limit events of the caller's group (by group
// number, so across restarts) and of the directs sent to or by the caller,
// merged by the time they were stored, oldest first.
//
// With after: see historyAfter.
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
	_, withAfter := f["after"]
	after, ok := f.integer("after", 0, math.MaxInt)
	if withAfter && !ok {
		return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadAfter,
			`"after" must be an integer of 0 or more: the offset of the last group event seen`)
	}
	if _, present := f["epoch"]; present {
		epoch, ok := f.str("epoch")
		if !ok || epoch == "" {
			return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadEpoch,
				`"epoch" must be a non-empty string: the epoch of the log "after" was read from`)
		}
		if withAfter && epoch != s.epoch {
			e := campbus.Errorf(http.StatusConflict, campbus.CodeEpochChanged,
				"the camp's log was started anew; offsets of the old one mean nothing here")
			e.Epoch = s.epoch
			return nil, e
		}
	}
	if withAfter {
		return s.historyAfter(ctx, r, uint64(after), limit)
	}
	var all []storedEvent
	for i, q := range s.historySubjects(r) {
		var evs []storedEvent
		var err error
		if i == 0 {
			evs, err = s.groupTail(ctx, q.subject, limit)
		} else {
			evs, err = s.tail(ctx, q.stream, q.subject, limit)
		}
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", r.CampID, err)
		}
		all = append(all, evs...)
	}
	all = mergeByTime(all)
	if len(all) > limit {
		all = all[len(all)-limit:]
	}
	return campbus.HistoryResponse{Events: rawEvents(all), Epoch: s.epoch}, nil
}

// logSubject is one subject of a stream that history reads.
type logSubject struct {
	stream  jetstream.Stream
	subject string
}

// historySubjects are the caller's group log, then the directs it sent and
// those sent to it. They are read apart: a direct to oneself matches both
// direct filters, and JetStream refuses overlapping filters on one
// consumer.
func (s *Service) historySubjects(r *request) []logSubject {
	return []logSubject{
		{s.groups, bus.LogGroupSubject(r.Group)},
		{s.directs, bus.LogDirectSubject(r.CampID, "*")},
		{s.directs, bus.LogDirectSubject("*", r.CampID)},
	}
}

// historyAfter answers history {"after": N}: the caller's group's events
// with offset > N, oldest first, at most limit; the directs to or by the
// caller stored since the group's event N was (all those kept when N is 0
// or no longer kept, at most limit of the latest), up to the last group event returned when more
// remain (so that paging with next repeats none); next, the offset to ask
// after next; and trimmed when retention dropped events after N.
//
// After an offset past the group's last, nothing is returned and next is
// the group's last offset: the log the caller saw is not this one (a
// server started on a new data dir), and asking after next from there
// misses nothing.
func (s *Service) historyAfter(ctx context.Context, r *request, after uint64, limit int) (any, error) {
	subjects := s.historySubjects(r)
	var (
		events      []storedEvent
		since       time.Time // when event N was stored; zero: from the start
		first, last uint64    // offsets of the first and last events kept
		more        bool      // events after the last one returned remain
	)
	redacted := redactions{}
	err := s.scan(ctx, subjects[0].stream, subjects[0].subject, time.Time{}, func(ev storedEvent) bool {
		if redacted.note(ev) {
			return true // a redaction: it names an event, it is none
		}
		o := offsetOf(ev)
		if o == 0 {
			return true // kept before events had offsets
		}
		if first == 0 {
			first = o
		}
		last = o
		switch {
		case o == after:
			since = ev.at
		case o > after && len(events) == limit:
			// Read on, for the redactions of the events returned.
			more = true
		case o > after && !more:
			events = append(events, ev)
		}
		return true
	})
	redacted.apply(events)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", r.CampID, err)
	}
	resp := campbus.HistoryResponse{Next: &after, Trimmed: after+1 < first, Epoch: s.epoch}
	if after > last && !more {
		resp.Next = &last
		return resp, nil
	}
	var until time.Time // zero: up to now
	if more {
		until = events[len(events)-1].at
	}
	var directs []storedEvent
	for _, q := range subjects[1:] {
		err := s.scan(ctx, q.stream, q.subject, since, func(ev storedEvent) bool {
			if !until.IsZero() && ev.at.After(until) {
				return false
			}
			if ev.at.After(since) || since.IsZero() {
				directs = append(directs, ev)
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", r.CampID, err)
		}
	}
	directs = mergeByTime(directs)
	if len(directs) > limit {
		directs = directs[len(directs)-limit:]
	}
	if len(events) > 0 {
		next := offsetOf(events[len(events)-1])
		resp.Next = &next
	}
	resp.Events = rawEvents(mergeByTime(append(events, directs...)))
	return resp, nil
}

// groupTail is tail for a group's subject: the redactions among its
// events are not returned, and take the text out of the events they name.
func (s *Service) groupTail(ctx context.Context, subject string, limit int) ([]storedEvent, error) {
	redacted := redactions{}
	out, err := s.tailWhere(ctx, s.groups, subject, limit, func(ev storedEvent) bool { return !redacted.note(ev) })
	if err != nil {
		return nil, err
	}
	redacted.apply(out)
	return out, nil
}

// redactions are the offsets of a group's events that staff redacted, and
// who did (PROTOCOL.md §12).
type redactions map[uint64]string

// note records ev if it is a redaction, and reports whether it was.
func (rd redactions) note(ev storedEvent) bool {
	var head struct {
		Type   string `json:"type"`
		Offset uint64 `json:"offset"`
		By     string `json:"by"`
	}
	if !bytes.Contains(ev.data, []byte(`"type":"`+campbus.EventRedacted+`"`)) ||
		json.Unmarshal(ev.data, &head) != nil || head.Type != campbus.EventRedacted {
		return false
	}
	rd[head.Offset] = head.By
	return true
}

// apply takes the text out of the events redacted, in place, marking them
// so.
func (rd redactions) apply(evs []storedEvent) {
	if len(rd) == 0 {
		return
	}
	for i, ev := range evs {
		by, ok := rd[offsetOf(ev)]
		if !ok {
			continue
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(ev.data, &fields) != nil {
			continue
		}
		delete(fields, "text")
		fields["redacted"] = json.RawMessage("true")
		fields["redactedBy"], _ = json.Marshal(by)
		if data, err := json.Marshal(fields); err == nil {
			evs[i].data = data
		}
	}
}

// offsetOf returns a group event's offset (0 if it has none: a direct, or
// an event kept from before events had offsets).
func offsetOf(ev storedEvent) uint64 {
	var o struct {
		Offset uint64 `json:"offset"`
	}
	_ = json.Unmarshal(ev.data, &o)
	return o.Offset
}

// mergeByTime sorts events by the time they were stored, oldest first, and
// drops the second copy of a direct to oneself (read under both filters).
func mergeByTime(evs []storedEvent) []storedEvent {
	slices.SortStableFunc(evs, func(a, b storedEvent) int { return a.at.Compare(b.at) })
	return slices.CompactFunc(evs, func(a, b storedEvent) bool { return a.at.Equal(b.at) && string(a.data) == string(b.data) })
}

func rawEvents(evs []storedEvent) []json.RawMessage {
	raw := make([]json.RawMessage, len(evs))
	for i, ev := range evs {
		raw[i] = ev.data
	}
	return raw
}

// tail returns the last limit events stored in stream under subject (which
// may hold wildcards), oldest first. GROUPS keeps at most
// bus.DefaultGroupEvents per group, and DIRECTS's age and size limits bound
// the rest.
func (s *Service) tail(ctx context.Context, stream jetstream.Stream, subject string, limit int) ([]storedEvent, error) {
	return s.tailWhere(ctx, stream, subject, limit, func(storedEvent) bool { return true })
}

// tailWhere is tail of the events keep says to keep.
func (s *Service) tailWhere(ctx context.Context, stream jetstream.Stream, subject string, limit int, keep func(storedEvent) bool) ([]storedEvent, error) {
	// A ring of the last limit events: once full, next is the oldest slot.
	var ring []storedEvent
	next := 0
	err := s.scan(ctx, stream, subject, time.Time{}, func(ev storedEvent) bool {
		switch {
		case !keep(ev):
		case len(ring) < limit:
			ring = append(ring, ev)
		default:
			ring[next] = ev
			next = (next + 1) % limit
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return append(ring[next:], ring[:next]...), nil
}

// scan reads the events stored in stream under subject (which may hold
// wildcards) from the oldest kept, or from the first stored at or after
// since when it is not zero, and calls visit with each in order until
// visit returns false. The consumer it reads with lives in memory and is
// deleted at once.
func (s *Service) scan(ctx context.Context, stream jetstream.Stream, subject string, since time.Time, visit func(storedEvent) bool) error {
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return err
	}
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	if total == 0 {
		return nil
	}
	cfg := jetstream.ConsumerConfig{
		FilterSubject:     subject,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: time.Minute, // in case the delete below is lost
	}
	if !since.IsZero() {
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &since
	}
	cons, err := stream.CreateConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel()
		if err := stream.DeleteConsumer(dctx, cons.CachedInfo().Name); err != nil {
			s.log.Warn("history: delete consumer", "err", err)
		}
	}()
	for read := uint64(0); read < total; {
		wait := 2 * time.Second
		if d, ok := ctx.Deadline(); ok {
			wait = min(wait, max(time.Until(d), 10*time.Millisecond))
		}
		batch, err := cons.Fetch(int(min(total-read, 256)), jetstream.FetchMaxWait(wait))
		if err != nil {
			return err
		}
		got, last, stop := 0, false, false
		for m := range batch.Messages() {
			got++
			if stop {
				continue // drain the batch
			}
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			stop = !visit(storedEvent{at: md.Timestamp, data: json.RawMessage(m.Data())})
			last = md.NumPending == 0
		}
		if err := batch.Error(); err != nil {
			if got == 0 && errors.Is(err, nats.ErrNoResponders) {
				// A consumer just created in a cluster may have its
				// leader on another node, whose subscription to the
				// consumer's requests has not reached this node yet:
				// nothing was read, so ask again while there is time.
				select {
				case <-ctx.Done():
					return fmt.Errorf("%w (%w)", err, ctx.Err())
				case <-time.After(fetchRetry):
				}
				continue
			}
			return err
		}
		read += uint64(got)
		if stop || got == 0 || last {
			break // done, or retention removed some while we read
		}
	}
	return nil
}
