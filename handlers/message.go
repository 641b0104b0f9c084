package handlers

import (
	"context"
	"net/http"

	"github.com/campbus/campbus"
)

// message handles POST /message {"text":"..."}: during the group's peer
// session the text goes to every other member, counted against maxCount.
// Without a session, or past the limit, it goes to nobody and the sender
// gets an error.
func (s *Service) message(ctx context.Context, r *request) (any, error) {
	f, err := decodeBody(r.Body)
	if err != nil {
		return nil, err
	}
	text, err := f.text()
	if err != nil {
		return nil, err
	}
	var resp campbus.MessageResponse
	_, _, err = s.updateGroup(ctx, r.Group, func(st *groupState) (*groupEvent, error) {
		if err := member(st, r.CampID); err != nil {
			return nil, err
		}
		ss := st.Session
		if ss == nil {
			return nil, campbus.Errorf(http.StatusConflict, campbus.CodeNoSession,
				"group#%d has no peer session running; the message was delivered to nobody", r.Group)
		}
		if ss.Count >= ss.MaxCount {
			return nil, campbus.Errorf(http.StatusConflict, campbus.CodeLimitReached,
				"the peer session's limit of %d messages is reached; the message was delivered to nobody", ss.MaxCount)
		}
		ss.Count++
		remaining := ss.MaxCount - ss.Count
		resp = campbus.MessageResponse{Group: r.Group, Seq: ss.Count, Remaining: remaining, Delivered: len(st.Members) - 1}
		return &groupEvent{
			event:  campbus.Event{Type: campbus.EventMessage, From: r.CampID, Text: text, Seq: ss.Count, Remaining: &remaining},
			origin: r.CampID,
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
