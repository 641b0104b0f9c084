package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// direct handles POST /direct {"campId":"J005","text":"hello"}: the text
// goes to one checked-in camper, in any group.
func (s *Service) direct(ctx context.Context, r *request) (any, error) {
	f, err := decodeBody(r.Body)
	if err != nil {
		return nil, err
	}
	to, err := f.campID(s.opts.CampIDs)
	if err != nil {
		return nil, err
	}
	text, err := f.text()
	if err != nil {
		return nil, err
	}
	if err := s.mutes.check(r.CampID, s.opts.Now()); err != nil {
		return nil, err
	}
	done, err := s.roomToGrow(ctx, r.Command, eventBytes+len(text), false)
	if err != nil {
		return nil, err
	}
	defer done()
	if _, err := s.campers.Get(ctx, to); errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, campbus.Errorf(http.StatusNotFound, campbus.CodeTargetNotCheckedIn,
			"%s is not checked in; nothing was sent", to)
	} else if err != nil {
		return nil, fmt.Errorf("direct to %s: %w", to, err)
	}
	data, err := json.Marshal(campbus.Event{Type: campbus.EventDirect, From: r.CampID, To: to, Text: text})
	if err != nil {
		return nil, err
	}
	header := bus.EventMeta{Type: campbus.EventDirect, Origin: r.CampID}.Header
	stored := &nats.Msg{Subject: bus.LogDirectSubject(to, r.CampID), Data: data, Header: header()}
	if _, err := s.js.PublishMsg(ctx, stored, appendOpts(ctx)...); err != nil {
		return nil, fmt.Errorf("direct to %s: %w", to, err)
	}
	s.store.appended(storedSize(stored), false)
	// Stored: now deliver. Directs need no order among senders, so the
	// handler publishes them itself rather than through the stream.
	live := &nats.Msg{Subject: bus.CamperSubject(to), Data: data, Header: header()}
	if err := s.nc.PublishMsg(live); err != nil {
		return nil, fmt.Errorf("direct to %s: deliver: %w", to, err)
	}
	return campbus.DirectResponse{To: to}, nil
}
