package handlers

import (
	"context"
	"unicode/utf8"

	"github.com/campbus/campbus"
)

// message handles POST /message {"text":"..."}: during the group's peer
// session the text goes to every other member, counted against maxCount.
// Without a session, or past the limit, it goes to nobody and the sender
// gets an error. A group's messages usually come through its queue
// (inorder.go), several at a time; this is the way of one alone.
func (s *Service) message(ctx context.Context, r *request) (any, error) {
	text, err := messageText(r)
	if err != nil {
		return nil, err
	}
	if err := s.mutes.check(r.CampID, s.opts.Now()); err != nil {
		return nil, err
	}
	done, err := s.roomToGrow(ctx, r.Command, eventBytes+len(text), true)
	if err != nil {
		return nil, err
	}
	defer done()
	var resp campbus.MessageResponse
	_, _, err = s.updateGroup(ctx, r.Group, func(st *groupState) (*groupEvent, error) {
		ev, rsp, err := decideMessage(st, r, text)
		resp = rsp
		return ev, err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// messageText returns the text of a message request.
func messageText(r *request) (string, error) {
	if t, ok := plainText(r.Body); ok {
		return t, nil
	}
	f, err := decodeBody(r.Body)
	if err != nil {
		return "", err
	}
	return f.text()
}

// plainText reads the body clients send, {"text":"..."} with nothing to
// unescape in the text, without a JSON decoder (it is most of what a
// message costs the handler to read). It reports false for any other
// body, which then goes through decodeBody: its text is what decodeBody
// and fields.text give, and FuzzPlainText holds it to that.
func plainText(body []byte) (string, bool) {
	const head, tail = `{"text":"`, `"}`
	if len(body) <= len(head)+len(tail) || string(body[:len(head)]) != head || string(body[len(body)-len(tail):]) != tail {
		return "", false
	}
	t := body[len(head) : len(body)-len(tail)]
	for _, c := range t {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(t) {
		return "", false
	}
	return string(t), true
}

// decideMessage decides r's message on group state st (edited in place)
// and returns its event and the sender's response.
func decideMessage(st *groupState, r *request, text string) (*groupEvent, campbus.MessageResponse, error) {
	ev, err := sendMessage(st, r.Group, r.CampID, text)
	if ev == nil {
		return nil, campbus.MessageResponse{}, err
	}
	return ev, campbus.MessageResponse{Group: r.Group, Seq: ev.event.Seq, Remaining: *ev.event.Remaining, Delivered: len(st.Members) - 1}, err
}
