package tcpfront

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/wire"
)

// onGroupEvent fans one group event out to the group's connections on this
// node, except the camper whose request caused it (it got the response).
// Events arrive in the group's order (the stream republishes them one by
// one), and this callback runs for one event at a time.
func (s *Server) onGroupEvent(m *nats.Msg) {
	n, err := strconv.Atoi(strings.TrimPrefix(m.Subject, bus.GroupPrefix))
	if err != nil || n <= 0 {
		s.log.Warn("event on a bad group subject dropped", "subject", m.Subject)
		return
	}
	meta := bus.ParseEventMeta(m)
	typ, ok := s.eventType(m, meta.Type)
	if !ok {
		return
	}
	origin := meta.Origin
	frame := wire.AppendEvent(nil, typ, m.Data)

	s.mu.Lock()
	defer s.mu.Unlock()
	if typ == campbus.EventJoin {
		if c := s.conns[meta.Conn]; c != nil {
			// This node's camper joined: from here on it gets the group's events.
			if s.groups[n] == nil {
				s.groups[n] = map[*conn]string{}
			}
			s.groups[n][c] = origin
			c.attached = n
		}
	}
	delivered := 0
	for c, campID := range s.groups[n] {
		if campID != origin {
			c.deliver(frame)
			delivered++
		}
	}
	s.opts.Observer.Delivered(typ, delivered)
	if typ == campbus.EventCheckout {
		for c, campID := range s.groups[n] {
			if campID == origin {
				delete(s.groups[n], c)
				c.attached = 0
			}
		}
	}
}

// onCamperEvent delivers a direct to the connections holding its campId.
func (s *Server) onCamperEvent(m *nats.Msg) {
	target := strings.TrimPrefix(m.Subject, bus.CamperPrefix)
	meta := bus.ParseEventMeta(m)
	typ, ok := s.eventType(m, meta.Type)
	if !ok {
		return
	}
	origin := meta.Origin
	if origin == target {
		return // the sender got the response
	}
	frame := wire.AppendEvent(nil, typ, m.Data)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.campers[target] {
		c.deliver(frame)
	}
	s.opts.Observer.Delivered(typ, len(s.campers[target]))
}

// eventType returns the type of a bus event, checking that the payload can
// travel as an event frame: a JSON object with a type that is a plain word.
// Anything else (an operator's garbage, say) is logged and dropped, never
// passed on to a camper as a broken frame. The app's own events name their
// type in a header, which spares decoding them here; the payload must still
// look like one JSON object.
func (s *Server) eventType(m *nats.Msg, typ string) (string, bool) {
	data := bytes.TrimSpace(m.Data)
	if typ == "" {
		var probe struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(data, &probe) != nil {
			typ = ""
		} else {
			typ = probe.Type
		}
	}
	if len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' {
		s.log.Warn("event that is not a JSON object dropped", "subject", m.Subject, "bytes", len(m.Data))
		return "", false
	}
	if !isEventType(typ) {
		s.log.Warn("event without a valid type dropped", "subject", m.Subject, "type", clip(typ))
		return "", false
	}
	return typ, true
}

func isEventType(t string) bool {
	if t == "" || len(t) > 32 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !('a' <= c && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}
