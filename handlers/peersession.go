package handlers

import (
	"context"
	"net/http"

	"github.com/campbus/campbus"
)

// peerSession handles POST /peersession {"maxCount":2}: the caller starts
// its group's peer session and hosts it. The group may then send maxCount
// messages in all. One session per group at a time.
func (s *Service) peerSession(ctx context.Context, r *request) (any, error) {
	f, err := decodeBody(r.Body)
	if err != nil {
		return nil, err
	}
	maxCount, ok := f.integer("maxCount", 1, MaxSessionMessages)
	if !ok {
		return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadMaxCount,
			`"maxCount" must be an integer from 1 to %d`, MaxSessionMessages)
	}
	done, err := s.roomToGrow(ctx, r.Command, eventBytes, true)
	if err != nil {
		return nil, err
	}
	defer done()
	_, _, err = s.updateGroup(ctx, r.Group, func(st *groupState) (*groupEvent, error) {
		return startSession(st, r.Group, r.CampID, maxCount)
	})
	if err != nil {
		return nil, err
	}
	return campbus.PeerSessionResponse{Group: r.Group, Host: r.CampID, MaxCount: maxCount}, nil
}
