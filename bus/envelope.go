package bus

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// The envelope of requests, replies and events on the bus: what travels in
// headers beside the JSON body. Front-ends and handlers build and read it
// only through these types, never header by header.

// Request is one camper's request, from a front-end to the handlers, on
// req.<command>.
type Request struct {
	Command string
	// Conn is the front-end connection it comes from (Instance.ConnID).
	Conn string
	// CampID and Group are the caller's, once it is checked in.
	CampID string
	Group  int
	// Reason is why a checkout happens (checkout, or disconnect when a
	// front-end checks out a camper whose connection ended).
	Reason string
	// Deadline is when the front-end stops waiting for the reply; zero for
	// none. A handler drops a request whose deadline has passed.
	Deadline time.Time
	// Token is the front-end's verdict on a checkin's token when the
	// server needs one; the token itself never travels on the bus.
	Token TokenVerdict
	// Staff names the staff member a staff command comes from; "" for a
	// camper's request.
	Staff string
	Body  []byte
}

// TokenVerdict is what a front-end found of the token a checkin showed
// (PROTOCOL.md §9). The zero value means the server needs no token. The
// handler judges the campId first, then refuses the checkin with 401
// bad-token unless the token admits that campId.
type TokenVerdict struct {
	// For is the campId a good token admits; "" when it was refused.
	For string
	// Refused says why the token admits nobody, a sentence for the camper.
	Refused string
	// Issued is when a good token was issued (zero: it does not say), for
	// the handler to refuse one issued before a revocation.
	Issued time.Time
}

// Needed reports whether the server needs a token: the front-end judged one.
func (v TokenVerdict) Needed() bool { return v.For != "" || v.Refused != "" }

// Msg returns the request as a bus message.
func (r *Request) Msg() *nats.Msg {
	m := nats.NewMsg(ReqSubject(r.Command))
	m.Data = r.Body
	m.Header.Set(HdrConn, r.Conn)
	if r.CampID != "" {
		m.Header.Set(HdrCampID, r.CampID)
		m.Header.Set(HdrGroup, strconv.Itoa(r.Group))
	}
	if r.Reason != "" {
		m.Header.Set(HdrReason, r.Reason)
	}
	if !r.Deadline.IsZero() {
		m.Header.Set(HdrDeadline, strconv.FormatInt(r.Deadline.UnixMilli(), 10))
	}
	if r.Token.For != "" {
		m.Header.Set(HdrTokenFor, r.Token.For)
		if !r.Token.Issued.IsZero() {
			m.Header.Set(HdrTokenIssued, strconv.FormatInt(r.Token.Issued.Unix(), 10))
		}
	}
	if r.Token.Refused != "" {
		m.Header.Set(HdrTokenRefused, r.Token.Refused)
	}
	if r.Staff != "" {
		m.Header.Set(HdrStaff, url.PathEscape(r.Staff))
	}
	return m
}

// ParseRequest reads a request message on req.<command>.
func ParseRequest(m *nats.Msg) *Request {
	r := &Request{
		Command: m.Subject[min(len(ReqPrefix), len(m.Subject)):],
		Conn:    m.Header.Get(HdrConn),
		CampID:  m.Header.Get(HdrCampID),
		Reason:  m.Header.Get(HdrReason),
		Token:   TokenVerdict{For: m.Header.Get(HdrTokenFor), Refused: m.Header.Get(HdrTokenRefused)},
		Body:    m.Data,
	}
	r.Group, _ = strconv.Atoi(m.Header.Get(HdrGroup))
	if sec, err := strconv.ParseInt(m.Header.Get(HdrTokenIssued), 10, 64); err == nil {
		r.Token.Issued = time.Unix(sec, 0)
	}
	if h := m.Header.Get(HdrStaff); h != "" {
		r.Staff, _ = url.PathUnescape(h)
	}
	if ms, err := strconv.ParseInt(m.Header.Get(HdrDeadline), 10, 64); err == nil {
		r.Deadline = time.UnixMilli(ms)
	}
	return r
}

// Reply is a handler's answer to a Request.
type Reply struct {
	// Status is the HTTP status of the response; Code the error code when
	// it is not 200, so that no front-end decodes a body to learn it.
	Status int
	Code   string
	// CampID and Group tell the front-end who the connection is after a
	// successful checkin.
	CampID string
	Group  int
	Body   []byte
}

// Msg returns the reply as a bus message.
func (r *Reply) Msg() *nats.Msg {
	m := &nats.Msg{Data: r.Body, Header: nats.Header{}}
	m.Header.Set(HdrStatus, strconv.Itoa(r.Status))
	if r.Code != "" {
		m.Header.Set(HdrCode, r.Code)
	}
	if r.CampID != "" {
		m.Header.Set(HdrCampID, r.CampID)
		m.Header.Set(HdrGroup, strconv.Itoa(r.Group))
	}
	return m
}

// ParseReply reads a reply message.
func ParseReply(m *nats.Msg) (*Reply, error) {
	status, err := strconv.Atoi(m.Header.Get(HdrStatus))
	if err != nil {
		return nil, fmt.Errorf("bus: reply without a status: %w", err)
	}
	r := &Reply{Status: status, Code: m.Header.Get(HdrCode), CampID: m.Header.Get(HdrCampID), Body: m.Data}
	r.Group, _ = strconv.Atoi(m.Header.Get(HdrGroup))
	return r, nil
}

// EventMeta is what an event carries beside its JSON body.
type EventMeta struct {
	// Type is the event type, so that dispatch needs no JSON decoding.
	Type string
	// Origin is the camper whose request caused the event: it got the
	// response and gets no copy.
	Origin string
	// Conn is the connection of a joining camper: the front-end holding it
	// starts delivering the group's events to it from this event on.
	Conn string
	// State is the group's state after the event (JSON), on group events.
	State []byte
}

// Header returns the metadata as message headers.
func (e EventMeta) Header() nats.Header {
	h := nats.Header{}
	h.Set(HdrType, e.Type)
	if e.Origin != "" {
		h.Set(HdrCampID, e.Origin)
	}
	if e.Conn != "" {
		h.Set(HdrConn, e.Conn)
	}
	if e.State != nil {
		h.Set(HdrState, string(e.State))
	}
	return h
}

// ParseEventMeta reads the metadata of an event message.
func ParseEventMeta(m *nats.Msg) EventMeta { return ParseEventHeader(m.Header) }

// ParseEventHeader reads the metadata of an event from its headers (of a
// message read back from a stream, say).
func ParseEventHeader(h nats.Header) EventMeta {
	e := EventMeta{
		Type:   h.Get(HdrType),
		Origin: h.Get(HdrCampID),
		Conn:   h.Get(HdrConn),
	}
	if s := h.Get(HdrState); s != "" {
		e.State = []byte(s)
	}
	return e
}
