package handlers

import (
	"context"

	"github.com/campbus/campbus"
)

// complete handles POST /complete (no body): the host ends its group's peer
// session; the others get a complete event.
func (s *Service) complete(ctx context.Context, r *request) (any, error) {
	if _, err := decodeBody(r.Body); err != nil {
		return nil, err
	}
	var messages int
	_, _, err := s.updateGroup(ctx, r.Group, func(st *groupState) (*groupEvent, error) {
		ev, err := completeSession(st, r.Group, r.CampID)
		if ev != nil {
			messages = *ev.event.Messages
		}
		return ev, err
	})
	if err != nil {
		return nil, err
	}
	return campbus.CompleteResponse{Group: r.Group, Host: r.CampID, Messages: messages}, nil
}
