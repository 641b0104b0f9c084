package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/handlers"
)

// Reconnecting. When the connection drops or the server shuts down, the
// client dials again after a pause that doubles from reconnectMin to
// reconnectMax, with jitter so that a camp of clients does not come back
// all at once. Once connected it checks in again as the same camper and
// asks history after the offset of the last group event it knew of
// (PROTOCOL.md §5), so it shows exactly the events it missed, marked as
// such, then what arrived meanwhile. End of input (Ctrl-D, or Ctrl-C on
// the line editor) or an interrupt stops it.
const (
	reconnectMin = 500 * time.Millisecond
	reconnectMax = 30 * time.Second
	// catchUpPages bounds the history pages read to catch up.
	catchUpPages = 10
	// directsKept bounds the directs remembered since the last group event.
	directsKept = 256
	// historyTries bounds the history requests asked again after a 500.
	historyTries = 3
	// inUseAttempts caps the backoff while a node refuses the campId for
	// now (409 camp-id-in-use): it waits at most 2 s between its checkins.
	inUseAttempts = 2
)

// backoff gives the pause before each attempt: min doubled per attempt up
// to max, of which a random part up to half is taken off.
type backoff struct{ min, max time.Duration }

func (b backoff) wait(attempt int) time.Duration {
	d := b.min
	for i := 0; i < attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	return d - rand.N(d/2+1)
}

// place is where the camper stands: the campId it checked in with, its
// group, the offset of the last group event it knows of and the epoch of
// the log that offset counts in (PROTOCOL.md §11; "" from a server that
// gives none), and the directs shown since that event (history after the
// offset gives them again).
type place struct {
	campID  string
	group   int
	offset  uint64
	epoch   string
	directs []directKey
}

// directKey tells directs apart well enough to show each once.
type directKey struct{ from, text string }

func keyOf(ev client.Event) directKey { return directKey{ev.From, ev.Text} }

func (p *place) checkedIn(body campbus.CheckinResponse, epoch string) {
	*p = place{campID: body.CampID, group: body.Group, offset: body.Offset, epoch: epoch}
}

// saw notes an event shown to the camper.
func (p *place) saw(ev client.Event) {
	switch {
	case ev.Type == campbus.EventDirect:
		if len(p.directs) == directsKept {
			p.directs = append(p.directs[:0], p.directs[1:]...)
		}
		p.directs = append(p.directs, keyOf(ev))
	case ev.Offset > p.offset && ev.Group == p.group:
		p.offset = ev.Offset
		if epoch := clusterFieldsOf(ev.Raw).Epoch; epoch != "" {
			p.epoch = epoch
		}
		p.directs = p.directs[:0]
	}
}

// shown reports whether a direct was among those shown since the offset,
// and forgets it: each shown direct matches once.
func (p *place) shown(ev client.Event) bool {
	for i, k := range p.directs {
		if k == keyOf(ev) {
			p.directs = append(p.directs[:i], p.directs[i+1:]...)
			return true
		}
	}
	return false
}

// own reports whether the camper caused ev itself: it saw the response,
// and the server sends it no copy.
func own(ev client.Event, campID string) bool {
	switch ev.Type {
	case campbus.EventJoin, campbus.EventCheckout:
		return ev.CampID == campID
	case campbus.EventMessage, campbus.EventDirect:
		return ev.From == campID
	case campbus.EventPeerSession:
		return ev.Host == campID
	case campbus.EventComplete:
		return ev.Host == campID && ev.Reason == campbus.ReasonComplete
	}
	return false
}

// connectionNote tells what became of the connection; --json writes it as
// {"kind":"connection",...}.
type connectionNote struct {
	Kind    string `json:"kind"`  // "connection"
	State   string `json:"state"` // lost, retry, reconnected, stopped
	Text    string `json:"text"`
	AfterMs int64  `json:"afterMs,omitempty"` // reconnected: time away
	Addr    string `json:"addr,omitempty"`    // reconnected: where
	Node    string `json:"node,omitempty"`    // reconnected: the name of that node, when the camp gave one
	Moved   bool   `json:"moved,omitempty"`   // reconnected: to another address than the one lost
	Missed  *int   `json:"missed,omitempty"`  // reconnected: events shown as missed
	Trimmed bool   `json:"trimmed,omitempty"` // reconnected: some were no longer kept
	// EpochChanged is set when the camp's log was started anew while the
	// client was away: the events before are gone, and the missed ones are
	// the latest of the new log.
	EpochChanged bool `json:"epochChanged,omitempty"`
}

// mayReconnect reports whether err ends a connection that the client
// should make again: not one staff ended with a kick.
func (s *session) mayReconnect(ctx context.Context, err error) bool {
	var lost *lostError
	return s.redial != nil && !s.kicked && ctx.Err() == nil && (errors.As(err, &lost) || errors.Is(err, errShutdown))
}

// reconnect dials until it is back and checked in as before, then shows
// what was missed. Each attempt goes to the next of the camp's addresses,
// except after 409 camp-id-in-use: that node is up, and the camp has yet
// to release the campId the lost connection held, so the client waits
// and asks the same node again (saying so once). It returns errQuit when
// the person stops it, ctx's error, or an error when the server refuses
// the camper for good.
func (s *session) reconnect(ctx context.Context, cause error) error {
	began := s.clock()
	s.client.Close()
	s.events = nil
	s.shutdown = false
	lost := s.addr
	why := "the connection to " + s.addr + " ended"
	switch {
	case errors.Is(cause, errShutdown):
		why = "the server is shutting down"
	case s.lostIn != "":
		why += " before the answer to " + s.lostIn + " (it may or may not have taken effect)"
	}
	s.lostIn = ""
	s.view.connection(connectionNote{State: "lost", Text: why + "; reconnecting (Ctrl-D stops)"})
	stay, toldInUse := false, false
	for attempt := 0; ; attempt++ {
		s.client.Close() // the one lost, or the last attempt's
		wait := s.backoff.wait(attempt)
		if stay {
			wait = s.backoff.wait(min(attempt, inUseAttempts))
		}
		if err := s.pause(ctx, wait); err != nil {
			s.view.connection(connectionNote{State: "stopped", Text: "stopped reconnecting"})
			return err
		}
		addr := s.addr
		if !stay {
			addr = s.book.next()
		}
		done, failed, code, err := s.rejoin(ctx, began, lost, addr)
		if done || err != nil {
			return err
		}
		stay = code == campbus.CodeCampIDInUse
		if stay && toldInUse {
			continue
		}
		if stay {
			toldInUse = true
			failed += "; waiting for the camp to release " + s.place.campID + " (it does a few seconds after its old connection is gone)"
		}
		s.view.connection(connectionNote{State: "retry", Text: failed + "; trying again"})
	}
}

// pause waits d, while a line may be typed: a line is kept to run once
// back, the end of input stops reconnecting.
func (s *session) pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	if !s.reading && s.pending == nil {
		prompt := promptCommand
		if s.place.campID == "" && !s.staff {
			prompt = promptCampID
		}
		s.lines.prompts <- prompt
		s.reading = true
	}
	for {
		select {
		case <-t.C:
			return nil
		case l := <-s.lines.lines:
			s.reading = false
			if errors.Is(l.err, io.EOF) {
				return errQuit // the end of the input, or Ctrl-D / Ctrl-C
			}
			if l.err != nil {
				return l.err
			}
			s.pending = &l.text
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// rejoin makes one attempt at addr: dial, check in as before, catch up.
// It returns done when the camper is back (or the attempt cannot succeed,
// with err), or why this attempt failed and the code of a refused checkin.
func (s *session) rejoin(ctx context.Context, began time.Time, lost, addr string) (done bool, failed, code string, err error) {
	c, err := s.redial(ctx, addr)
	if err != nil {
		if ctx.Err() != nil {
			return true, "", "", ctx.Err()
		}
		return false, dialFailure(addr, err), "", nil
	}
	s.client, s.events, s.addr = c, c.Events(), addr
	s.book.moveTo(addr)
	if s.staff {
		return s.rejoinStaff(ctx, began, lost, addr)
	}
	if s.place.campID == "" {
		where := s.reconnectedTo(lost, addr)
		away := s.clock().Sub(began)
		s.view.connection(connectionNote{State: "reconnected", AfterMs: away.Milliseconds(), Addr: addr,
			Node: s.book.names[addr], Moved: addr != lost, Text: "reconnected" + where + " after " + formatAway(away)})
		return true, "", "", nil
	}
	id := s.place.campID
	resp, live, err := s.collect(ctx, campbus.CmdCheckin, campbus.CheckinRequest{CampID: id, Token: s.token.value})
	switch {
	case err != nil && ctx.Err() != nil:
		return true, "", "", ctx.Err()
	case err != nil:
		return false, "the connection ended again", "", nil
	case resp.Err != nil && retryCheckin(resp.Err.Code):
		c.Close()
		return false, fmt.Sprintf("checkin as %s refused for now: %s", id, printable(resp.Err.Message)), resp.Err.Code, nil
	case resp.Err != nil:
		s.view.failure(campbus.CmdCheckin, resp, hintFor(campbus.CmdCheckin, nil, resp.Err))
		refused := &checkinRefused{campID: id, cause: resp.Err, again: true}
		s.view.fatal(refused)
		return true, "", "", refused
	}
	var body campbus.CheckinResponse
	if err := decode(resp, &body); err != nil {
		return true, "", "", err
	}
	before := s.place
	s.checkedInAt = s.clock()
	s.place.checkedIn(body, clusterFieldsOf(resp.Body).Epoch)
	s.learnFrom(resp)
	missed, live, trimmed, err := s.catchUp(ctx, before, live)
	if err != nil {
		if ctx.Err() != nil {
			return true, "", "", ctx.Err()
		}
		return false, "the connection ended again", "", nil
	}
	away := s.clock().Sub(began)
	// Said after the checkin: its response may be the first to name the node.
	where := s.reconnectedTo(lost, addr)
	text := fmt.Sprintf("reconnected%s after %s; %s", where, formatAway(away), countMissed(len(missed)))
	switch {
	case before.group != body.Group:
		text += fmt.Sprintf("; now in group#%d (was group#%d): what group#%d did meanwhile is not shown",
			body.Group, before.group, before.group)
	case before.offset == 0:
		text += " (this server gives no offsets: what was missed cannot be shown)"
	case s.refused:
		text += " shown (history failed)"
	case s.epochChanged:
		text += "; the camp's log was started anew, so the events before it are gone (these are the latest of the new log)"
	case trimmed:
		text += "; some were no longer kept"
	}
	n := len(missed)
	s.view.connection(connectionNote{State: "reconnected", Text: text, AfterMs: away.Milliseconds(), Missed: &n, Trimmed: trimmed,
		Addr: addr, Node: s.book.names[addr], Moved: addr != lost, EpochChanged: s.epochChanged})
	for _, ev := range missed {
		s.view.missed(ev)
	}
	for _, ev := range live {
		s.showEvent(ev)
	}
	return true, "", "", nil
}

// reconnectedTo says where the client came back, when that is not where
// it was: " to n2 (10.0.0.2:2022)".
func (s *session) reconnectedTo(lost, addr string) string {
	if addr == lost {
		return ""
	}
	return " to " + s.book.describe(addr)
}

// catchUp asks history after the last offset known before the drop, in
// its epoch, and returns the events to show as missed, in order, and the
// live events received meanwhile that are still to show. When the camp's
// log was started anew meanwhile (409 epoch-changed) it asks the latest
// events of the new log instead, and sets s.epochChanged.
func (s *session) catchUp(ctx context.Context, before place, live []client.Event) (missed, rest []client.Event, trimmed bool, err error) {
	s.refused, s.epochChanged = false, false
	if before.group != s.place.group || before.offset == 0 {
		return nil, live, false, nil
	}
	var stored []client.Event
	after, tries := before.offset, 0
	for page := 0; page < catchUpPages; page++ {
		var ask any = map[string]any{"after": after, "limit": handlers.MaxHistory}
		if before.epoch != "" {
			ask = map[string]any{"after": after, "limit": handlers.MaxHistory, "epoch": before.epoch}
		}
		if s.epochChanged {
			ask = nil // no body: the latest events of the new log
		}
		resp, more, err := s.collect(ctx, campbus.CmdHistory, ask)
		live = append(live, more...)
		if err != nil {
			return nil, nil, false, err
		}
		if resp.Err != nil && resp.Err.Code == campbus.CodeInternal && tries < historyTries {
			// A server busy electing a leader: ask again in a moment.
			tries++
			page--
			if err := s.pause(ctx, s.backoff.wait(0)); err != nil {
				return nil, nil, false, err
			}
			continue
		}
		if resp.Err != nil && resp.Err.Code == campbus.CodeEpochChanged && !s.epochChanged {
			s.epochChanged = true
			if epoch := clusterFieldsOf(resp.Body).Epoch; epoch != "" {
				s.place.epoch = epoch
			}
			page--
			continue
		}
		if resp.Err != nil {
			s.view.failure(campbus.CmdHistory, resp, "what was missed cannot be shown; history shows the latest events")
			s.refused = true
			break
		}
		var body campbus.HistoryResponse
		if err := decode(resp, &body); err != nil {
			return nil, nil, false, err
		}
		if epoch := clusterFieldsOf(resp.Body).Epoch; epoch != "" {
			s.place.epoch = epoch
		}
		trimmed = trimmed || body.Trimmed
		groupEvents := 0
		for _, raw := range body.Events {
			ev := client.Event{Raw: raw}
			if decodeStored(raw, &ev) {
				stored = append(stored, ev)
				if ev.Type != campbus.EventDirect {
					groupEvents++
				}
			}
		}
		if s.epochChanged || groupEvents < handlers.MaxHistory || body.Next == nil || *body.Next <= after {
			break
		}
		after = *body.Next
	}
	// Directs arriving live now are shown live, not as missed.
	var arriving place
	for _, ev := range live {
		if ev.Type == campbus.EventDirect {
			arriving.saw(ev)
		}
	}
	last := before.offset
	if s.epochChanged {
		last = 0 // the old log's offsets mean nothing in the new one
	}
	for _, ev := range stored {
		if ev.Type == campbus.EventDirect {
			if !own(ev, before.campID) && !before.shown(ev) && !arriving.shown(ev) {
				missed = append(missed, ev)
			}
			continue
		}
		if ev.Offset <= last {
			continue
		}
		last = ev.Offset
		s.place.saw(ev)
		if !own(ev, before.campID) {
			missed = append(missed, ev)
		}
	}
	for _, ev := range live {
		if ev.Type == campbus.EventDirect || ev.Offset > last || ev.Group != s.place.group {
			rest = append(rest, ev)
		}
	}
	return missed, rest, trimmed, nil
}

// collect sends one request and waits for its response, keeping the events
// that arrive meanwhile instead of showing them.
func (s *session) collect(ctx context.Context, command string, body any) (*client.Response, []client.Event, error) {
	var live []client.Event
	resp, err := s.exchange(ctx, command, body, func(ev client.Event) { live = append(live, ev) })
	return resp, live, err
}

// retryCheckin reports whether a checkin refused with code may succeed
// later: the old connection not yet seen gone, a server starting or full.
func retryCheckin(code string) bool {
	switch code {
	case campbus.CodeCampIDInUse, campbus.CodeShuttingDown, campbus.CodeTooManyConnections,
		campbus.CodeRateLimited, campbus.CodeStorageFull, campbus.CodeInternal, campbus.CodeUnavailable:
		return true
	}
	return false
}

// dialFailure says in a few words why a dial failed.
func dialFailure(addr string, err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens on " + addr + " yet"
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "no answer from " + addr
	}
	return err.Error()
}

// formatAway rounds a time away for a person.
func formatAway(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func countMissed(n int) string {
	switch n {
	case 0:
		return "no missed events"
	case 1:
		return "1 missed event"
	}
	return fmt.Sprintf("%d missed events", n)
}
