package session

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// onGroupEvent fans one group event out to the group's campers on this
// node, except the camper whose request caused it (it got the response).
// Events arrive in the group's order (the stream republishes them one by
// one), and this callback runs for one event at a time.
func (h *Hub) onGroupEvent(m *nats.Msg, w *wakeups) {
	n, err := strconv.Atoi(strings.TrimPrefix(m.Subject, bus.GroupPrefix))
	if err != nil || n <= 0 {
		h.log.Warn("event on a bad group subject dropped", "subject", m.Subject)
		return
	}
	meta := bus.ParseEventMeta(m)
	if h.opts.GroupWatcher != nil {
		h.opts.GroupWatcher(m, meta)
	}
	typ, ok := h.eventType(m, meta.Type)
	if !ok {
		return
	}
	var join *Session
	var joinID, leaving string
	switch typ {
	case campbus.EventJoin:
		// This node's camper joined: from here on it gets the group's events.
		h.mu.Lock()
		join = h.sessions[meta.Conn]
		h.mu.Unlock()
		joinID = meta.Origin
	case campbus.EventCheckout:
		leaving = meta.Origin
	}
	var buf [8]target
	targets := h.reg.groupEvent(n, join, joinID, leaving, meta.Origin, buf[:0])
	frames := frameCache{typ: typ, body: m.Data}
	for _, t := range targets {
		w.deliver(t.s, frames.encode(t.s.t.Codec()))
	}
	var sbuf [4]*Session
	staff := h.staffSessions(time.Now(), sbuf[:0])
	for _, s := range staff {
		w.deliver(s, frames.encode(s.t.Codec()))
	}
	h.opts.Observer.Delivered(typ, len(targets)+len(staff))
}

// onCamperEvent delivers a direct to the sessions holding its campId.
func (h *Hub) onCamperEvent(m *nats.Msg, w *wakeups) {
	to := strings.TrimPrefix(m.Subject, bus.CamperPrefix)
	meta := bus.ParseEventMeta(m)
	typ, ok := h.eventType(m, meta.Type)
	if !ok {
		return
	}
	if meta.Origin == to {
		return // the sender got the response
	}
	var buf [2]*Session
	holders := h.reg.holders(to, buf[:0])
	frames := frameCache{typ: typ, body: m.Data}
	for _, s := range holders {
		if typ == campbus.EventKicked {
			// The camp has checked it out already (the kick handler did):
			// the event is its last frame, sent before the session ends.
			s.kicked(frames.encode(s.t.Codec()))
			continue
		}
		w.deliver(s, frames.encode(s.t.Codec()))
	}
	h.opts.Observer.Delivered(typ, len(holders))
}

// wakeups holds back the writers of the sessions a dispatcher queued
// events for, while more events wait in its subscription: each writer then
// starts once for all the events of a burst, and writes them in one system
// call, instead of once per event. A dispatcher wakes them when its
// subscription has nothing pending, or when maxHeldWriters wait.
type wakeups struct {
	held []*Session
}

// maxHeldWriters bounds the writers one dispatcher holds back.
const maxHeldWriters = 1024

func (w *wakeups) deliver(s *Session, frame []byte) {
	if s.deliverHeld(frame) {
		w.held = append(w.held, s)
	}
}

// afterEvent wakes the writers held back once the subscription has no
// event pending.
func (w *wakeups) afterEvent(sub *nats.Subscription) {
	if len(w.held) == 0 {
		return
	}
	// nats.go counts the event being handled as pending until its
	// callback returns: more than one means another callback will come.
	more := func() bool {
		pending, _, err := sub.Pending()
		return err == nil && pending > 1 && len(w.held) < maxHeldWriters
	}
	if more() {
		return
	}
	// The connection's reader may be handing over the rest of a burst
	// right now: let it run once before the writers go.
	runtime.Gosched()
	if more() {
		return
	}
	for i, s := range w.held {
		s.wakeWriter()
		w.held[i] = nil
	}
	w.held = w.held[:0]
}

// frameCache encodes one event once per codec it is delivered through.
type frameCache struct {
	typ   string
	body  []byte
	codec [2]Codec
	frame [2][]byte
}

func (c *frameCache) encode(codec Codec) []byte {
	for i, k := range c.codec {
		if k == codec {
			return c.frame[i]
		}
		if k == nil {
			c.codec[i], c.frame[i] = codec, codec.Event(c.typ, c.body)
			return c.frame[i]
		}
	}
	return codec.Event(c.typ, c.body) // a third kind of transport: no cache
}

// eventType returns the type of a bus event, checking that the payload can
// travel as an event frame: a JSON object with a type that is a plain word.
// Anything else (an operator's garbage, say) is logged and dropped, never
// passed on to a camper as a broken frame. The app's own events name their
// type in their envelope, which spares decoding them here; the payload
// must still look like one JSON object.
func (h *Hub) eventType(m *nats.Msg, typ string) (string, bool) {
	data := bytes.TrimSpace(m.Data)
	if typ == "" {
		var probe struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(data, &probe) == nil {
			typ = probe.Type
		}
	}
	if len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' {
		h.log.Warn("event that is not a JSON object dropped", "subject", m.Subject, "bytes", len(m.Data))
		return "", false
	}
	if !isEventType(typ) {
		h.log.Warn("event without a valid type dropped", "subject", m.Subject, "type", clip(typ))
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

// clip shortens untrusted text quoted in logs and error sentences.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
