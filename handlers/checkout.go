package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
)

// checkout handles POST /checkout (no body). The front-end also sends it,
// with reason "disconnect", when a checked-in connection is lost.
//
// The camper leaves its group (the others get a checkout event); if it was
// hosting the group's peer session, the session ends and the others get a
// complete event with reason host-left. Then its campId is released.
func (s *Service) checkout(ctx context.Context, r *request) (any, error) {
	entry, err := s.campers.Get(ctx, r.campID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, notCheckedIn()
	}
	if err != nil {
		return nil, fmt.Errorf("checkout %s: %w", r.campID, err)
	}
	var rec camperRecord
	if err := json.Unmarshal(entry.Value(), &rec); err != nil {
		return nil, fmt.Errorf("checkout %s: record: %w", r.campID, err)
	}
	if rec.Conn != r.conn {
		// The id is held by another connection: this one is not checked in.
		return nil, notCheckedIn()
	}
	reason := campbus.ReasonCheckout
	if r.reason == campbus.ReasonDisconnect {
		reason = campbus.ReasonDisconnect
	}
	if err := s.leave(ctx, r.group, r.campID, reason); err != nil {
		return nil, err
	}
	if err := s.campers.Delete(ctx, r.campID, jetstream.LastRevision(entry.Revision())); err != nil {
		return nil, fmt.Errorf("checkout %s: release: %w", r.campID, err)
	}
	return campbus.CheckoutResponse{
		CampID:   r.campID,
		Group:    r.group,
		ActiveMs: max(0, s.opts.Now().UnixMilli()-rec.CheckinMs),
	}, nil
}

// leave removes id from group n, ending the session it hosts.
func (s *Service) leave(ctx context.Context, n int, id, reason string) error {
	_, _, err := s.updateGroup(ctx, n, func(st *groupState) ([]groupEvent, error) {
		i := slices.Index(st.Members, id)
		if i < 0 {
			return nil, nil // already gone: nothing to record
		}
		st.Members = slices.Delete(st.Members, i, i+1)
		evs := []groupEvent{{
			event:  campbus.Event{Type: campbus.EventCheckout, CampID: id, Reason: reason},
			origin: id,
		}}
		if st.Session != nil && st.Session.Host == id {
			count := st.Session.Count
			st.Session = nil
			evs = append(evs, groupEvent{
				event:  campbus.Event{Type: campbus.EventComplete, Host: id, Reason: campbus.ReasonHostLeft, Messages: &count},
				origin: id,
			})
		}
		return evs, nil
	})
	return err
}

func notCheckedIn() *campbus.Error {
	return campbus.Errorf(http.StatusForbidden, campbus.CodeNotCheckedIn, "check in first: send checkin with your campId")
}
