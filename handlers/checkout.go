package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// checkout handles POST /checkout (no body). The front-end also sends it,
// with reason "disconnect", when a checked-in connection is lost.
//
// If the camper hosts its group's peer session, the session ends first (the
// others get complete with reason host-left); then the camper leaves its
// group (the others get checkout) and its campId is released.
func (s *Service) checkout(ctx context.Context, r *request) (any, error) {
	// The leader's copy decides: a replica that lags may not have the
	// checkin yet, or may have an older revision of the record, and a
	// disconnect's checkout refused for that would leave the id held by a
	// connection that is gone.
	var rec camperRecord
	var rev uint64
	for try := 0; ; try++ {
		var found bool
		var err error
		rec, rev, found, err = s.camperFromLeader(ctx, r.CampID)
		if err != nil {
			return nil, fmt.Errorf("checkout %s: %w", r.CampID, err)
		}
		if !found || rec.Conn != r.Conn {
			// Nobody holds the id, or another connection does: this one
			// is not checked in.
			return nil, notCheckedIn()
		}
		// Mark the id as leaving, so that a checkin for it right after the
		// checkout event waits for the release instead of failing.
		rec.Leaving = true
		rev, err = s.campers.Update(ctx, r.CampID, mustJSON(rec), rev)
		if err == nil {
			break
		}
		if try > 0 || !bus.IsWrongLastSequence(err) {
			return nil, fmt.Errorf("checkout %s: %w", r.CampID, err)
		}
		// The record changed since it was read (a sweep marked it, say):
		// decide again on what it is now.
	}
	reason := campbus.ReasonCheckout
	if r.Reason == campbus.ReasonDisconnect {
		reason = campbus.ReasonDisconnect
	}
	if rec.Group > 0 {
		if err := s.leave(ctx, rec.Group, r.CampID, reason); err != nil {
			return nil, err
		}
	}
	if err := s.campers.Delete(ctx, r.CampID, jetstream.LastRevision(rev)); err != nil {
		return nil, fmt.Errorf("checkout %s: release: %w", r.CampID, err)
	}
	return campbus.CheckoutResponse{
		CampID:   r.CampID,
		Group:    rec.Group,
		ActiveMs: max(0, s.opts.Now().UnixMilli()-rec.CheckinMs),
	}, nil
}

// leave takes id out of group n: first the session it hosts ends, then it
// leaves. Each is its own compare-and-set append, so anything that happens
// in between (a new session by another member) is ordered after the end of
// the old one, and the group never shows a session whose host is gone.
func (s *Service) leave(ctx context.Context, n int, id, reason string) error {
	_, _, err := s.updateGroup(ctx, n, func(st *groupState) (*groupEvent, error) {
		return endHostedSession(st, id)
	})
	if err != nil {
		return err
	}
	_, _, err = s.updateGroup(ctx, n, func(st *groupState) (*groupEvent, error) {
		return unseat(st, id, reason)
	})
	return err
}

func notCheckedIn() *campbus.Error {
	return campbus.Errorf(http.StatusForbidden, campbus.CodeNotCheckedIn, "check in first: send checkin with your campId")
}
