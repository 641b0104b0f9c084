package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// groupState is a group's state after an event. It travels in the
// Campbus-State header of every group event, so the last event on
// log.group.<n> always carries the group's current state.
type groupState struct {
	Members []string `json:"members"`
	Session *session `json:"session,omitempty"`
}

// session is a running peer session.
type session struct {
	Host     string `json:"host"`
	MaxCount int    `json:"maxCount"`
	Count    int    `json:"count"`
}

func (g *groupState) clone() *groupState {
	c := &groupState{Members: slices.Clone(g.Members)}
	if g.Session != nil {
		s := *g.Session
		c.Session = &s
	}
	return c
}

func (g *groupState) has(campID string) bool { return slices.Contains(g.Members, campID) }

// groupEvent is one event to append to a group's log.
type groupEvent struct {
	event  campbus.Event
	origin string // the camper whose request caused it; it gets no copy
	conn   string // the connection of a joining or leaving camper
}

// loadGroup returns group n's current state and the stream sequence of its
// last event (0 for a group that never had one).
func (s *Service) loadGroup(ctx context.Context, n int) (*groupState, uint64, error) {
	m, err := s.groups.GetLastMsgForSubject(ctx, bus.LogGroupSubject(n))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return &groupState{}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("load group %d: %w", n, err)
	}
	st := &groupState{}
	if err := json.Unmarshal([]byte(m.Header.Get(bus.HdrState)), st); err != nil {
		return nil, 0, fmt.Errorf("load group %d: state of event %d: %w", n, m.Sequence, err)
	}
	return st, m.Sequence, nil
}

// appendGroupEvent appends ev to group n's log with the group's new state,
// provided the group's last event is still lastSeq. It returns the new
// event's sequence, or an error for which bus.IsWrongLastSequence is true
// when another change came first.
func (s *Service) appendGroupEvent(ctx context.Context, n int, ev groupEvent, st *groupState, lastSeq uint64) (uint64, error) {
	ev.event.Group = n
	data, err := json.Marshal(ev.event)
	if err != nil {
		return 0, err
	}
	state, err := json.Marshal(st)
	if err != nil {
		return 0, err
	}
	m := nats.NewMsg(bus.LogGroupSubject(n))
	m.Data = data
	m.Header.Set(bus.HdrType, ev.event.Type)
	m.Header.Set(bus.HdrState, string(state))
	if ev.origin != "" {
		m.Header.Set(bus.HdrCampID, ev.origin)
	}
	if ev.conn != "" {
		m.Header.Set(bus.HdrConn, ev.conn)
	}
	ack, err := s.js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(lastSeq))
	if err != nil {
		return 0, err
	}
	s.seats.applyState(n, ack.Sequence, st)
	return ack.Sequence, nil
}

// changeFunc decides a change of a group from its current state: it edits
// st in place and returns the event that records the change, nil to change
// nothing, or a *campbus.Error to refuse it.
type changeFunc func(st *groupState) (*groupEvent, error)

// updateGroup applies change to group n with compare-and-set: on a conflict
// it reloads the state and decides again. It returns the state it decided
// on (the new state when the change was appended) and that state's sequence.
func (s *Service) updateGroup(ctx context.Context, n int, change changeFunc) (*groupState, uint64, error) {
	for try := 0; try < maxCommitTries; try++ {
		st, seq, err := s.loadGroup(ctx, n)
		if err != nil {
			return nil, 0, err
		}
		next := st.clone()
		ev, err := change(next)
		if err != nil || ev == nil {
			return st, seq, err
		}
		newSeq, err := s.appendGroupEvent(ctx, n, *ev, next, seq)
		if bus.IsWrongLastSequence(err) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("group %d: %w", n, err)
		}
		return next, newSeq, nil
	}
	return nil, 0, campbus.Errorf(http.StatusInternalServerError, campbus.CodeInternal,
		"group#%d is too busy right now; try again", n)
}

// member returns a not-checked-in error unless id is a member of st: the
// camper's checkin did not go through, or it was checked out meanwhile.
func member(st *groupState, id string) error {
	if !st.has(id) {
		return notCheckedIn()
	}
	return nil
}

// watchGroup keeps the seat view current with group events appended by other
// nodes (this node's own are applied as they are appended).
func (s *Service) watchGroup(m *nats.Msg) {
	if m.Header.Get(bus.HdrType) == campbus.EventMessage {
		return // changes no seat and no session: skip the decoding
	}
	n, err := strconv.Atoi(m.Subject[len(bus.GroupPrefix):])
	if err != nil {
		return
	}
	seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil {
		return
	}
	var st groupState
	if err := json.Unmarshal([]byte(m.Header.Get(bus.HdrState)), &st); err != nil {
		s.log.Warn("group event without state", "subject", m.Subject, "err", err)
		return
	}
	s.seats.applyState(n, seq, &st)
}
