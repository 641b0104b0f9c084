package handlers

import (
	"context"
	"net/http"

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
		if err := member(st, r.CampID); err != nil {
			return nil, err
		}
		if st.Session == nil {
			return nil, noSession(r.Group)
		}
		if st.Session.Host != r.CampID {
			return nil, campbus.Errorf(http.StatusForbidden, campbus.CodeNotHost,
				"only the host, %s, can complete the peer session", st.Session.Host)
		}
		messages = st.Session.Count
		st.Session = nil
		return &groupEvent{
			event:  campbus.Event{Type: campbus.EventComplete, Host: r.CampID, Reason: campbus.ReasonComplete, Messages: &messages},
			origin: r.CampID,
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return campbus.CompleteResponse{Group: r.Group, Host: r.CampID, Messages: messages}, nil
}

func noSession(group int) *campbus.Error {
	return campbus.Errorf(http.StatusConflict, campbus.CodeNoSession,
		"group#%d has no peer session running; start one with peersession", group)
}
