package handlers

import (
	"context"

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
	done, err := s.roomToGrow(ctx, r.Command, eventBytes+len(text), true)
	if err != nil {
		return nil, err
	}
	defer done()
	var resp campbus.MessageResponse
	_, _, err = s.updateGroup(ctx, r.Group, func(st *groupState) (*groupEvent, error) {
		ev, err := sendMessage(st, r.Group, r.CampID, text)
		if ev != nil {
			resp = campbus.MessageResponse{Group: r.Group, Seq: ev.event.Seq, Remaining: *ev.event.Remaining, Delivered: len(st.Members) - 1}
		}
		return ev, err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
