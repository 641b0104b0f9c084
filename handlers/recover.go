package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// Sweep checks out every camper held by a connection that stale says is
// gone: their groups get checkout events with reason disconnect, sessions
// they hosted end, their campIds are released. It also loads every group's
// state into the seat view. It is safe to run on several nodes at once:
// each step is a compare-and-set, and checking out a camper twice records
// nothing the second time.
//
// At start a node sweeps the connections of its previous run (after a crash
// or kill nobody is connected any more) and those of nodes that are not
// alive; while it runs, it sweeps again whenever a node stops beating.
func (s *Service) Sweep(ctx context.Context, stale func(conn string) bool) (checkedOut int, err error) {
	holders, err := s.holders(ctx)
	if err != nil {
		return 0, err
	}
	info, err := s.groups.Info(ctx, jetstream.WithSubjectFilter(bus.LogPrefix+bus.GroupPrefix+"*"))
	if err != nil {
		return 0, fmt.Errorf("sweep: list groups: %w", err)
	}
	for subject := range info.State.Subjects {
		n, err := strconv.Atoi(strings.TrimPrefix(subject, bus.LogPrefix+bus.GroupPrefix))
		if err != nil {
			continue
		}
		st, seq, err := s.loadGroup(ctx, n)
		if err != nil {
			return checkedOut, fmt.Errorf("sweep: %w", err)
		}
		s.seats.applyState(n, seq, st)
		for _, id := range st.Members {
			h, held := holders[id]
			if !held {
				// Not in the list read before the group: a checkin may have
				// claimed the id since (claims come before joins), so look
				// again before calling the member an orphan.
				h, held, err = s.holder(ctx, id)
				if err != nil {
					return checkedOut, err
				}
			}
			if held && !stale(h.conn) {
				continue
			}
			if err := s.leave(ctx, n, id, campbus.ReasonDisconnect); err != nil {
				return checkedOut, fmt.Errorf("sweep: check out %s: %w", id, err)
			}
			checkedOut++
		}
	}
	for id, h := range holders {
		if !stale(h.conn) {
			continue
		}
		err := s.campers.Delete(ctx, id, jetstream.LastRevision(h.revision))
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && !bus.IsWrongLastSequence(err) {
			return checkedOut, fmt.Errorf("sweep: release %s: %w", id, err)
		}
	}
	return checkedOut, nil
}

type holder struct {
	conn     string
	revision uint64
}

// holders lists the campers bucket: campId -> the connection holding it.
func (s *Service) holders(ctx context.Context) (map[string]holder, error) {
	out := map[string]holder{}
	lister, err := s.campers.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("sweep: list campers: %w", err)
	}
	for key := range lister.Keys() {
		h, held, err := s.holder(ctx, key)
		if err != nil {
			return nil, err
		}
		if held {
			out[key] = h
		}
	}
	return out, nil
}

// holder reads who holds id.
func (s *Service) holder(ctx context.Context, id string) (holder, bool, error) {
	e, err := s.campers.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return holder{}, false, nil
	}
	if err != nil {
		return holder{}, false, fmt.Errorf("sweep: camper %s: %w", id, err)
	}
	var rec camperRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		s.log.Warn("sweep: unreadable camper record; counting it as stale", "campId", id, "err", err)
	}
	return holder{conn: rec.Conn, revision: e.Revision()}, true, nil
}
