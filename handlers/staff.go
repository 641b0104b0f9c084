package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// The staff commands (PROTOCOL.md §12). A staff member signs in at the
// front-end, which checks the staff token and names the member on every
// staff request it sends (bus.Request.Staff); a request that names nobody
// is refused here too. Every action is kept in GROUPS under
// log.staff.<action>.<target>, naming who did it: the audit trail, which
// the operator reads with `nats stream view GROUPS --subject 'log.staff.>'`.

// Limits of staff requests.
const (
	// MaxMuteMinutes bounds a mute: a day.
	MaxMuteMinutes = 24 * 60
	// maxKickReason bounds a kick's reason, in characters.
	maxKickReason = 200
)

func forbidden(format string, args ...any) *campbus.Error {
	return campbus.Errorf(http.StatusForbidden, campbus.CodeForbidden, format, args...)
}

// staffOnly refuses a request that no staff member signed.
func staffOnly(r *request) error {
	if r.Staff == "" {
		return forbidden("%s is for staff: sign in first with staff {\"token\": ...}", r.Command)
	}
	return nil
}

// staffOnCamper reads a staff request that names a camper: it refuses one
// that no staff member signed, and returns the body and the campId.
func (s *Service) staffOnCamper(r *request) (fields, string, error) {
	if err := staffOnly(r); err != nil {
		return nil, "", err
	}
	f, err := decodeBody(r.Body)
	if err != nil {
		return nil, "", err
	}
	id, err := f.campID(s.opts.CampIDs)
	if err != nil {
		return nil, "", err
	}
	return f, id, nil
}

// staffSignIn answers req.staff, which no front-end sends: staff sign in
// at the front-end that holds the camp's secret, and the token never
// travels on the bus.
func (s *Service) staffSignIn(context.Context, *request) (any, error) {
	return nil, forbidden("staff sign in at a campers' port or the web port, not on the bus")
}

// staffAction is one action of staff, as kept in the audit trail.
type staffAction struct {
	Action  string `json:"action"`
	By      string `json:"by"`
	AtMs    int64  `json:"atMs"`
	CampID  string `json:"campId,omitempty"`
	Group   int    `json:"group,omitempty"`
	Text    string `json:"text,omitempty"`
	Reason  string `json:"reason,omitempty"`
	UntilMs int64  `json:"untilMs,omitempty"`
	Reached int    `json:"reached,omitempty"`
	Offset  uint64 `json:"offset,omitempty"`
}

// record keeps a in the audit trail under log.staff.<action>.<target>.
func (s *Service) record(ctx context.Context, target string, a staffAction) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	m := &nats.Msg{Subject: bus.LogStaffSubject(a.Action, target), Data: data}
	if _, err := s.js.PublishMsg(ctx, m, appendOpts(ctx)...); err != nil {
		return fmt.Errorf("%s: audit: %w", a.Action, err)
	}
	s.store.appended(storedSize(m), false)
	return nil
}

// board handles POST /board: every group with members, its session, who
// is muted. Each group's state is its log's last event's.
func (s *Service) board(ctx context.Context, r *request) (any, error) {
	if err := staffOnly(r); err != nil {
		return nil, err
	}
	ns, err := s.groupNumbers(ctx)
	if err != nil {
		return nil, err
	}
	resp := campbus.BoardResponse{Groups: []campbus.BoardGroup{}, Muted: s.mutes.list(s.opts.Now())}
	for _, n := range ns {
		st, _, err := s.loadGroup(ctx, n)
		if err != nil {
			return nil, err
		}
		if len(st.Members) == 0 {
			continue
		}
		g := campbus.BoardGroup{Group: n, Members: st.Members}
		if st.Session != nil {
			g.Session = &campbus.BoardSession{Host: st.Session.Host, MaxCount: st.Session.MaxCount, Messages: st.Session.Count}
		}
		resp.Groups = append(resp.Groups, g)
		resp.CheckedIn += len(st.Members)
	}
	return resp, nil
}

// announce handles POST /announce {"text"}: every group with members gets
// an announcement event in its log, so every checked-in camper hears it,
// in its group's order, and finds it in history.
func (s *Service) announce(ctx context.Context, r *request) (any, error) {
	if err := staffOnly(r); err != nil {
		return nil, err
	}
	f, err := decodeBody(r.Body)
	if err != nil {
		return nil, err
	}
	text, err := f.text()
	if err != nil {
		return nil, err
	}
	ns, err := s.groupNumbers(ctx)
	if err != nil {
		return nil, err
	}
	var resp campbus.AnnounceResponse
	for _, n := range ns {
		done, err := s.roomToGrow(ctx, r.Command, eventBytes+len(text), true)
		if err != nil {
			return nil, err
		}
		st, _, err := s.updateGroup(ctx, n, func(st *groupState) (*groupEvent, error) {
			if len(st.Members) == 0 {
				return nil, nil // nobody to tell
			}
			return &groupEvent{event: campbus.Event{Type: campbus.EventAnnouncement, From: r.Staff, Text: text}}, nil
		})
		done()
		if err != nil {
			return nil, err
		}
		if len(st.Members) > 0 {
			resp.Groups++
			resp.Reached += len(st.Members)
		}
	}
	if err := s.record(ctx, "all", staffAction{Action: campbus.CmdAnnounce, By: r.Staff, AtMs: s.opts.Now().UnixMilli(),
		Text: text, Reached: resp.Reached}); err != nil {
		// Announced all the same: the events are in the groups' logs.
		s.log.Warn("announce: not in the audit trail", "err", err)
	}
	return resp, nil
}

// mute handles POST /mute {"campId","minutes"}: the camper's message and
// direct get 403 muted until then, on every node, across its reconnects;
// minutes 0 lifts it. The camper is told with a muted event.
func (s *Service) mute(ctx context.Context, r *request) (any, error) {
	f, id, err := s.staffOnCamper(r)
	if err != nil {
		return nil, err
	}
	minutes, ok := f.integer("minutes", 0, MaxMuteMinutes)
	if !ok {
		return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadMinutes,
			`"minutes" must be an integer from 0 (lift the mute) to %d`, MaxMuteMinutes)
	}
	now := s.opts.Now()
	a := staffAction{Action: campbus.CmdMute, By: r.Staff, AtMs: now.UnixMilli(), CampID: id}
	if minutes > 0 {
		a.UntilMs = now.Add(time.Duration(minutes) * time.Minute).UnixMilli()
	}
	if err := s.record(ctx, id, a); err != nil {
		return nil, err
	}
	s.mutes.apply(a)
	resp := campbus.MuteResponse{CampID: id, Until: rfc3339Ms(a.UntilMs)}
	ev := campbus.Event{Type: campbus.EventMuted, CampID: id, By: r.Staff, Until: resp.Until}
	if err := s.tellCamper(id, ev); err != nil {
		s.log.Warn("mute: the camper was not told", "campId", id, "err", err)
	}
	return resp, nil
}

// kick handles POST /kick {"campId","reason"}: the camper is checked out
// (its group gets checkout with reason kicked), then its connection, on
// whichever node, gets a kicked event and is closed.
func (s *Service) kick(ctx context.Context, r *request) (any, error) {
	f, id, err := s.staffOnCamper(r)
	if err != nil {
		return nil, err
	}
	reason := ""
	if _, present := f["reason"]; present {
		var ok bool
		if reason, ok = f.str("reason"); !ok || utf8.RuneCountInString(reason) > maxKickReason {
			return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadRequest,
				`"reason" must be a string of at most %d characters`, maxKickReason)
		}
	}
	group, err := s.checkOutAs(ctx, id, campbus.ReasonKicked)
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, id, staffAction{Action: campbus.CmdKick, By: r.Staff, AtMs: s.opts.Now().UnixMilli(),
		CampID: id, Group: group, Reason: reason}); err != nil {
		s.log.Warn("kick: not in the audit trail", "campId", id, "err", err)
	}
	if err := s.tellCamper(id, campbus.Event{Type: campbus.EventKicked, CampID: id, By: r.Staff, Reason: reason}); err != nil {
		// Checked out all the same: its connection learns it at its next
		// request (403 not-checked-in).
		s.log.Warn("kick: the camper's connection was not told", "campId", id, "err", err)
	}
	return campbus.KickResponse{CampID: id, Group: group}, nil
}

// checkOutAs checks id out of the camp for staff, whatever connection
// holds it, as a checkout does: marked leaving, out of its group with
// reason, released. It returns the group it left.
func (s *Service) checkOutAs(ctx context.Context, id, reason string) (int, error) {
	for try := 0; ; try++ {
		rec, rev, found, err := s.camperFromLeader(ctx, id)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", id, err)
		}
		if !found {
			return 0, campbus.Errorf(http.StatusNotFound, campbus.CodeTargetNotCheckedIn, "%s is not checked in", id)
		}
		rec.Leaving = true
		rev, err = s.campers.Update(ctx, id, mustJSON(rec), rev)
		if bus.IsWrongLastSequence(err) && try == 0 {
			continue // changed since it was read: decide again
		}
		if err != nil {
			return 0, fmt.Errorf("%s: mark leaving: %w", id, err)
		}
		if rec.Group > 0 {
			if err := s.leave(ctx, rec.Group, id, reason); err != nil {
				return 0, err
			}
		}
		if err := s.campers.Delete(ctx, id, jetstream.LastRevision(rev)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return 0, fmt.Errorf("%s: release: %w", id, err)
		}
		return rec.Group, nil
	}
}

// redact handles POST /redact {"group","offset"}: the group's message (or
// announcement) at that offset is kept in the log as it is, and a
// redacted event is appended after it, naming it and who did it: the
// members get it live, and history (and catch-up) return the message
// without its text from then on, on every node. The redacted event takes
// no place of its own in the group's offsets.
func (s *Service) redact(ctx context.Context, r *request) (any, error) {
	if err := staffOnly(r); err != nil {
		return nil, err
	}
	f, err := decodeBody(r.Body)
	if err != nil {
		return nil, err
	}
	n, ok := f.integer("group", 1, math.MaxInt32)
	if !ok {
		return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadRequest, `"group" must be a group's number, 1 or more`)
	}
	target, ok := f.integer("offset", 1, math.MaxInt)
	if !ok {
		return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadRequest, `"offset" must be an event's offset, 1 or more`)
	}
	found := false
	err = s.scan(ctx, s.groups, bus.LogGroupSubject(n), time.Time{}, func(ev storedEvent) bool {
		var head struct {
			Type   string `json:"type"`
			Offset uint64 `json:"offset"`
		}
		if json.Unmarshal(ev.data, &head) == nil && head.Offset == uint64(target) &&
			(head.Type == campbus.EventMessage || head.Type == campbus.EventAnnouncement) {
			found = true
			return false
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	if !found {
		return nil, campbus.Errorf(http.StatusNotFound, campbus.CodeNoMessage,
			"group#%d keeps no message with offset %d (only messages and announcements can be redacted)", n, target)
	}
	done, err := s.roomToGrow(ctx, r.Command, eventBytes, false)
	if err != nil {
		return nil, err
	}
	defer done()
	if _, _, err := s.updateGroup(ctx, n, func(*groupState) (*groupEvent, error) {
		return &groupEvent{event: campbus.Event{Type: campbus.EventRedacted, Offset: uint64(target), By: r.Staff}, aside: true}, nil
	}); err != nil {
		return nil, err
	}
	if err := s.record(ctx, strconv.Itoa(n), staffAction{Action: campbus.CmdRedact, By: r.Staff, AtMs: s.opts.Now().UnixMilli(),
		Group: n, Offset: uint64(target)}); err != nil {
		s.log.Warn("redact: not in the audit trail", "group", n, "offset", target, "err", err)
	}
	return campbus.RedactResponse{Group: n, Offset: uint64(target)}, nil
}

// revoke handles POST /revoke {"campId"}: the camper's tokens issued up
// to now are refused at checkin on every node (the revocation is kept in
// GROUPS, under log.staff.revoke.<campId>), and a connection it holds now
// is checked out and closed as a kick's is.
func (s *Service) revoke(ctx context.Context, r *request) (any, error) {
	_, id, err := s.staffOnCamper(r)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	if err := s.record(ctx, id, staffAction{Action: campbus.CmdRevoke, By: r.Staff, AtMs: now.UnixMilli(), CampID: id}); err != nil {
		return nil, err
	}
	resp := campbus.RevokeResponse{CampID: id, Before: now.UTC().Format(time.RFC3339)}
	group, err := s.checkOutAs(ctx, id, campbus.ReasonKicked)
	var perr *campbus.Error
	switch {
	case errors.As(err, &perr) && perr.Code == campbus.CodeTargetNotCheckedIn:
		return resp, nil // nobody to close
	case err != nil:
		return nil, err
	}
	resp.Group = group
	if err := s.tellCamper(id, campbus.Event{Type: campbus.EventKicked, CampID: id, By: r.Staff, Reason: revokedReason}); err != nil {
		s.log.Warn("revoke: the camper's connection was not told", "campId", id, "err", err)
	}
	return resp, nil
}

// revokedReason is the reason of the kicked event a camper whose tokens
// staff revoked gets.
const revokedReason = "your token was revoked; ask the camp's staff for a new one"

// notRevoked refuses, with 401 bad-token, a checkin as id whose token was
// issued (issued, to the second; zero when the token did not say) no later
// than the last revocation of id's tokens. The revocation is read from
// GROUPS' leader at each checkin that shows a token.
func (s *Service) notRevoked(ctx context.Context, id string, issued time.Time) error {
	// From GROUPS' leader: a replica that lags might not have a revocation
	// made a moment ago on another node.
	m, found, err := s.lastFromLeader(ctx, bus.GroupsStream, bus.LogStaffSubject(campbus.CmdRevoke, id))
	if err != nil {
		return fmt.Errorf("revocations of %s: %w", id, err)
	}
	if !found {
		return nil
	}
	var a staffAction
	if err := json.Unmarshal(m.data, &a); err != nil {
		return fmt.Errorf("revocation of %s: %w", id, err)
	}
	if issued.Unix() > a.AtMs/1000 {
		return nil // minted after the revocation
	}
	return campbus.BadToken(fmt.Sprintf("the token was revoked by %s at %s; ask the camp's staff for a new one",
		a.By, time.UnixMilli(a.AtMs).UTC().Format(time.RFC3339)))
}

// tellCamper publishes ev to the connections holding its campId, on any
// node (camper.<id>).
func (s *Service) tellCamper(id string, ev campbus.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return s.nc.PublishMsg(&nats.Msg{Subject: bus.CamperSubject(id), Data: data, Header: bus.EventMeta{Type: ev.Type}.Header()})
}

func rfc3339Ms(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

// errMuted is the 403 for a muted camper's message or direct.
func errMuted(until time.Time, by string) *campbus.Error {
	return campbus.Errorf(http.StatusForbidden, campbus.CodeMuted,
		"you are muted by %s until %s; your messages and directs reach nobody until then", by, until.UTC().Format(time.RFC3339))
}

// muteList is this node's view of who is muted: the last mute of each
// camper in the audit trail, kept current by a watch of it (watchMutes).
// Every message looks at it and mutes are rare, so the map is replaced
// whole on a change and read without a lock.
type muteList struct {
	mu sync.Mutex // serialises apply
	m  atomic.Pointer[map[string]staffAction]
}

func (ml *muteList) apply(a staffAction) {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	old := ml.current()
	if prev, ok := old[a.CampID]; ok && prev.AtMs > a.AtMs {
		return // an older mute, come late
	}
	next := make(map[string]staffAction, len(old)+1)
	maps.Copy(next, old)
	next[a.CampID] = a
	ml.m.Store(&next)
}

func (ml *muteList) current() map[string]staffAction {
	if m := ml.m.Load(); m != nil {
		return *m
	}
	return nil
}

// check returns the 403 for campID's message at now, or nil.
func (ml *muteList) check(campID string, now time.Time) error {
	a, ok := ml.current()[campID]
	if !ok || a.UntilMs <= now.UnixMilli() {
		return nil
	}
	return errMuted(time.UnixMilli(a.UntilMs), a.By)
}

// list returns the campers muted at now, by campId.
func (ml *muteList) list(now time.Time) []campbus.MutedCamper {
	out := []campbus.MutedCamper{}
	for id, a := range ml.current() {
		if a.UntilMs > now.UnixMilli() {
			out = append(out, campbus.MutedCamper{CampID: id, Until: rfc3339Ms(a.UntilMs), By: a.By})
		}
	}
	slices.SortFunc(out, func(a, b campbus.MutedCamper) int { return strings.Compare(a.CampID, b.CampID) })
	return out
}

// muteWatchRetry is how long watchMutes waits before it tries again to
// open its watch (the cluster electing, say).
const muteWatchRetry = time.Second

// watchMutes keeps s.mutes current with the mutes kept in GROUPS, by any
// node, until ctx ends: an ordered consumer of log.staff.mute.*, from the
// last of each camper on. It calls loaded once every mute kept when it
// began is applied (it may call it more than once).
func (s *Service) watchMutes(ctx context.Context, loaded func()) {
	subject := bus.LogStaffSubject(campbus.CmdMute, "*")
	for ctx.Err() == nil {
		// The last mute of each camper muted so far: once that many are
		// applied, the node knows every mute kept (loaded).
		var kept int
		info, err := s.groups.Info(ctx, jetstream.WithSubjectFilter(subject))
		if err == nil {
			kept = len(info.State.Subjects)
			if kept == 0 {
				loaded()
			}
		}
		var cons jetstream.Consumer
		if err == nil {
			cons, err = s.groups.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
				FilterSubjects: []string{subject},
				DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
			})
		}
		if err == nil {
			var cc jetstream.ConsumeContext
			applied := 0
			cc, err = cons.Consume(func(m jetstream.Msg) {
				var a staffAction
				if json.Unmarshal(m.Data(), &a) == nil && a.CampID != "" {
					s.mutes.apply(a)
				}
				if applied++; applied == kept {
					loaded()
				}
			})
			if err == nil {
				<-ctx.Done()
				cc.Stop()
				return
			}
		}
		if ctx.Err() == nil {
			s.log.Warn("watching the mutes; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(muteWatchRetry):
		}
	}
}
