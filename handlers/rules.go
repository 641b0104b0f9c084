package handlers

import (
	"net/http"
	"slices"

	"github.com/campbus/campbus"
)

// The group rules. Each decides one change of a group from the group's
// state alone: it edits st (a copy the caller owns) and returns the event
// that records the change, nil when there is nothing to record, or a
// *campbus.Error (errGroupFull for seat) to refuse it. They touch no bus and
// no log, so they are tested as plain functions; updateGroup applies them
// inside its compare-and-set loop.

// seat puts id in the group unless it is full. A seat the camper already has
// (left over from an earlier holder of the id: a checkin taken back, a node
// lost mid-checkout) is its own: it joins again without a second seat.
func seat(st *groupState, id, conn string, size int) (*groupEvent, error) {
	if !st.has(id) {
		if len(st.Members) >= size {
			return nil, errGroupFull
		}
		st.Members = append(st.Members, id)
	}
	return &groupEvent{
		event:  campbus.Event{Type: campbus.EventJoin, CampID: id, Members: slices.Clone(st.Members)},
		origin: id,
		conn:   conn,
	}, nil
}

// startSession makes host the host of a new peer session of maxCount
// messages, unless the group runs one.
func startSession(st *groupState, n int, host string, maxCount int) (*groupEvent, error) {
	if err := member(st, host); err != nil {
		return nil, err
	}
	if st.Session != nil {
		return nil, campbus.Errorf(http.StatusConflict, campbus.CodeSessionActive,
			"group#%d already has a peer session, hosted by %s", n, st.Session.Host)
	}
	st.Session = &session{Host: host, MaxCount: maxCount}
	return &groupEvent{
		event:  campbus.Event{Type: campbus.EventPeerSession, Host: host, MaxCount: maxCount},
		origin: host,
	}, nil
}

// sendMessage counts one message of from against the session's limit.
func sendMessage(st *groupState, n int, from, text string) (*groupEvent, error) {
	if err := member(st, from); err != nil {
		return nil, err
	}
	ss := st.Session
	if ss == nil {
		return nil, campbus.Errorf(http.StatusConflict, campbus.CodeNoSession,
			"group#%d has no peer session running; the message was delivered to nobody", n)
	}
	if ss.Count >= ss.MaxCount {
		return nil, campbus.Errorf(http.StatusConflict, campbus.CodeLimitReached,
			"the peer session's limit of %d messages is reached; the message was delivered to nobody", ss.MaxCount)
	}
	ss.Count++
	remaining := ss.MaxCount - ss.Count
	return &groupEvent{
		event:  campbus.Event{Type: campbus.EventMessage, From: from, Text: text, Seq: ss.Count, Remaining: &remaining},
		origin: from,
	}, nil
}

// completeSession ends the session, if host hosts it.
func completeSession(st *groupState, n int, host string) (*groupEvent, error) {
	if err := member(st, host); err != nil {
		return nil, err
	}
	if st.Session == nil {
		return nil, noSession(n)
	}
	if st.Session.Host != host {
		return nil, campbus.Errorf(http.StatusForbidden, campbus.CodeNotHost,
			"only the host, %s, can complete the peer session", st.Session.Host)
	}
	messages := st.Session.Count
	st.Session = nil
	return &groupEvent{
		event:  campbus.Event{Type: campbus.EventComplete, Host: host, Reason: campbus.ReasonComplete, Messages: &messages},
		origin: host,
	}, nil
}

// endHostedSession ends the session id hosts, as id leaves (host-left);
// nothing if id hosts none.
func endHostedSession(st *groupState, id string) (*groupEvent, error) {
	if st.Session == nil || st.Session.Host != id {
		return nil, nil
	}
	count := st.Session.Count
	st.Session = nil
	return &groupEvent{
		event:  campbus.Event{Type: campbus.EventComplete, Host: id, Reason: campbus.ReasonHostLeft, Messages: &count},
		origin: id,
	}, nil
}

// unseat takes id out of the group; nothing if it is not in it.
func unseat(st *groupState, id, reason string) (*groupEvent, error) {
	i := slices.Index(st.Members, id)
	if i < 0 {
		return nil, nil
	}
	st.Members = slices.Delete(st.Members, i, i+1)
	return &groupEvent{
		event:  campbus.Event{Type: campbus.EventCheckout, CampID: id, Reason: reason},
		origin: id,
	}, nil
}

// member returns a not-checked-in error unless id is a member of st: the
// camper's checkin did not go through, or it was checked out meanwhile.
func member(st *groupState, id string) error {
	if !st.has(id) {
		return notCheckedIn()
	}
	return nil
}

func noSession(group int) *campbus.Error {
	return campbus.Errorf(http.StatusConflict, campbus.CodeNoSession,
		"group#%d has no peer session running; start one with peersession", group)
}
