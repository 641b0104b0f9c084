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

// Recover runs once at start, before the front-end accepts anyone. It loads
// every group's state into the seat view, and checks out every camper whose
// connection belonged to a previous run of this node (after a crash or a
// kill, nobody is connected any more): their groups get checkout events with
// reason disconnect, sessions they hosted end, their campIds are released.
//
// stale tells whether a connection id belongs to a previous run of this node.
func (s *Service) Recover(ctx context.Context, stale func(conn string) bool) (checkedOut int, err error) {
	info, err := s.groups.Info(ctx, jetstream.WithSubjectFilter(bus.LogPrefix+bus.GroupPrefix+"*"))
	if err != nil {
		return 0, fmt.Errorf("recover: list groups: %w", err)
	}
	holders, err := s.holders(ctx)
	if err != nil {
		return 0, err
	}
	for subject := range info.State.Subjects {
		n, err := strconv.Atoi(strings.TrimPrefix(subject, bus.LogPrefix+bus.GroupPrefix))
		if err != nil {
			continue
		}
		st, seq, err := s.loadGroup(ctx, n)
		if err != nil {
			return checkedOut, fmt.Errorf("recover: %w", err)
		}
		s.seats.apply(n, seq, len(st.Members))
		for _, id := range st.Members {
			rec, held := holders[id]
			if held && !stale(rec.conn) {
				continue
			}
			if err := s.leave(ctx, n, id, campbus.ReasonDisconnect); err != nil {
				return checkedOut, fmt.Errorf("recover: check out %s: %w", id, err)
			}
			checkedOut++
		}
	}
	for id, rec := range holders {
		if !stale(rec.conn) {
			continue
		}
		if err := s.campers.Delete(ctx, id, jetstream.LastRevision(rec.revision)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return checkedOut, fmt.Errorf("recover: release %s: %w", id, err)
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
		return nil, fmt.Errorf("recover: list campers: %w", err)
	}
	for key := range lister.Keys() {
		e, err := s.campers.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("recover: camper %s: %w", key, err)
		}
		var rec camperRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			s.log.Warn("recover: unreadable camper record; releasing it", "campId", key, "err", err)
		}
		out[key] = holder{conn: rec.Conn, revision: e.Revision()}
	}
	return out, nil
}
