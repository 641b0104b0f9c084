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
	f, err := decodeBody(r.body)
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
	if _, err := s.campers.Get(ctx, to); errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, campbus.Errorf(http.StatusNotFound, campbus.CodeTargetNotCheckedIn,
			"%s is not checked in; nothing was sent", to)
	} else if err != nil {
		return nil, fmt.Errorf("direct to %s: %w", to, err)
	}
	data, err := json.Marshal(campbus.Event{Type: campbus.EventDirect, From: r.campID, To: to, Text: text})
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(bus.LogCamperSubject(to))
	m.Data = data
	m.Header.Set(bus.HdrType, campbus.EventDirect)
	m.Header.Set(bus.HdrCampID, r.campID)
	if _, err := s.js.PublishMsg(ctx, m); err != nil {
		return nil, fmt.Errorf("direct to %s: %w", to, err)
	}
	return campbus.DirectResponse{To: to}, nil
}
