package node

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/auth"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/session"
)

// staffToken mints a staff member's token with the camp's secret, as
// `campbus token --staff` does.
func staffToken(t *testing.T, name string) string {
	t.Helper()
	s, err := auth.NewSecret(campSecret)
	require.NoError(t, err)
	tok, err := s.MintStaff(name, time.Hour, time.Now())
	require.NoError(t, err)
	return tok
}

// signIn signs c in as staff member name.
func (c *camper) signIn(name string) {
	c.t.Helper()
	var r campbus.StaffResponse
	c.ok(campbus.CmdStaff, campbus.StaffRequest{Token: staffToken(c.t, name)}, &r)
	require.Equal(c.t, name, r.Name)
}

// checkinWith checks c in as id with its token.
func (c *camper) checkinWith(id string) int {
	c.t.Helper()
	var r campbus.CheckinResponse
	c.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: id, Token: mintFor(c.t, id)}, &r)
	c.id = id
	return r.Group
}

// expectSkipping waits for the next event of type typ, skipping others.
func (c *camper) expectSkipping(typ string) campbus.Event {
	c.t.Helper()
	for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); {
		if ev := c.event(); ev.Type == typ {
			return ev
		}
	}
	c.t.Fatalf("no %s event in time", typ)
	return campbus.Event{}
}

func TestStaffSignInAndOnlyStaffRunTheStaffCommands(t *testing.T) {
	open := startNode(t, Options{})
	e := dial(t, open).fails(campbus.CmdStaff, campbus.StaffRequest{Token: "x"}, 403, campbus.CodeForbidden)
	assert.Contains(t, e.Message, "--auth-secret", "a camp without a secret says why nobody signs in")

	n := startNode(t, Options{AuthSecret: campSecret, Sessions: session.Options{CheckinTimeout: 300 * time.Millisecond}})
	c := dial(t, n)
	e = c.fails(campbus.CmdStaff, campbus.StaffRequest{Token: mintFor(t, "J004")}, 401, campbus.CodeBadToken)
	assert.Contains(t, e.Message, "not a staff member's")
	c.fails(campbus.CmdStaff, campbus.StaffRequest{Token: "not.a.token"}, 401, campbus.CodeBadToken)
	for _, cmd := range []string{campbus.CmdBoard, campbus.CmdAnnounce, campbus.CmdMute, campbus.CmdKick} {
		e = c.fails(cmd, map[string]string{}, 403, campbus.CodeForbidden)
		assert.Contains(t, e.Message, "for staff", cmd)
	}
	camper := dial(t, n)
	camper.checkinWith("J004")
	camper.fails(campbus.CmdBoard, nil, 403, campbus.CodeForbidden)
	camper.fails(campbus.CmdStaff, campbus.StaffRequest{Token: staffToken(t, "Mina")}, 409, campbus.CodeAlreadyCheckedIn)
	dial(t, n).fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J005", Token: staffToken(t, "Mina")}, 401, campbus.CodeBadToken)

	c.signIn("김코치")
	var b campbus.BoardResponse
	c.ok(campbus.CmdBoard, nil, &b)
	e = c.fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J005", Token: mintFor(t, "J005")}, 403, campbus.CodeForbidden)
	assert.Contains(t, e.Message, "holds no seat")
	c.fails(campbus.CmdMessage, map[string]string{"text": "hi"}, 403, campbus.CodeNotCheckedIn)
	// A staff connection is not closed for not checking in.
	time.Sleep(600 * time.Millisecond)
	c.ok(campbus.CmdBoard, nil, &b)
	assert.Equal(t, 1, b.CheckedIn)
}

func TestStaffSeeTheBoardAnnounceMuteAndKick(t *testing.T) {
	n := startNode(t, Options{AuthSecret: campSecret})
	staff := dial(t, n)
	staff.signIn("Mina")
	cs := make([]*camper, 5)
	for i := range cs {
		cs[i] = dial(t, n)
		cs[i].checkinWith(fmt.Sprintf("J%03d", i+1))
	}
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 3}, nil)
	for i := range 5 {
		assert.Equal(t, campbus.EventJoin, staff.event().Type, "staff hear every group's events (%d)", i)
	}
	assert.Equal(t, campbus.EventPeerSession, staff.event().Type)

	var b campbus.BoardResponse
	staff.ok(campbus.CmdBoard, nil, &b)
	assert.Equal(t, 5, b.CheckedIn)
	require.Len(t, b.Groups, 2)
	assert.Equal(t, campbus.BoardGroup{Group: 1, Members: []string{"J001", "J002", "J003", "J004"},
		Session: &campbus.BoardSession{Host: "J001", MaxCount: 3}}, b.Groups[0])
	assert.Equal(t, campbus.BoardGroup{Group: 2, Members: []string{"J005"}}, b.Groups[1])
	assert.Empty(t, b.Muted)

	// Announce: every camper, in its group's log.
	var a campbus.AnnounceResponse
	staff.ok(campbus.CmdAnnounce, campbus.AnnounceRequest{Text: "점심은 12시 30분"}, &a)
	assert.Equal(t, campbus.AnnounceResponse{Reached: 5, Groups: 2}, a)
	for _, c := range cs {
		ev := c.expectSkipping(campbus.EventAnnouncement)
		assert.Equal(t, "Mina", ev.From)
		assert.Equal(t, "점심은 12시 30분", ev.Text)
		assert.NotZero(t, ev.Offset, "an event of the group's log")
	}
	var h campbus.HistoryResponse
	cs[4].ok(campbus.CmdHistory, nil, &h)
	assert.Contains(t, string(h.Events[len(h.Events)-1]), `"announcement"`, "in history too")
	staff.fails(campbus.CmdAnnounce, map[string]string{"text": ""}, 400, campbus.CodeBadRequest)

	// Mute: messages and directs refused, across a reconnect, until lifted.
	staff.fails(campbus.CmdMute, map[string]any{"campId": "J002", "minutes": -1}, 400, campbus.CodeBadMinutes)
	staff.fails(campbus.CmdMute, map[string]any{"campId": "J002"}, 400, campbus.CodeBadMinutes)
	staff.fails(campbus.CmdMute, map[string]any{"campId": "X1", "minutes": 5}, 400, campbus.CodeBadCampID)
	var m campbus.MuteResponse
	staff.ok(campbus.CmdMute, map[string]any{"campId": "J002", "minutes": 10}, &m)
	assert.Equal(t, "J002", m.CampID)
	until, err := time.Parse(time.RFC3339, m.Until)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(10*time.Minute), until, 5*time.Second)
	ev := cs[1].expectSkipping(campbus.EventMuted)
	assert.Equal(t, "Mina", ev.By)
	assert.Equal(t, m.Until, ev.Until)
	e := cs[1].fails(campbus.CmdMessage, map[string]string{"text": "spam"}, 403, campbus.CodeMuted)
	assert.Contains(t, e.Message, "Mina")
	cs[1].fails(campbus.CmdDirect, map[string]string{"campId": "J005", "text": "spam"}, 403, campbus.CodeMuted)
	cs[2].ok(campbus.CmdMessage, map[string]string{"text": "not muted"}, nil)
	staff.ok(campbus.CmdBoard, nil, &b)
	assert.Equal(t, []campbus.MutedCamper{{CampID: "J002", Until: m.Until, By: "Mina"}}, b.Muted)
	cs[1].ok(campbus.CmdCheckout, nil, nil)
	cs[1] = dial(t, n)
	cs[1].checkinWith("J002")
	cs[1].fails(campbus.CmdMessage, map[string]string{"text": "spam again"}, 403, campbus.CodeMuted)
	var lift campbus.MuteResponse
	staff.ok(campbus.CmdMute, map[string]any{"campId": "J002", "minutes": 0}, &lift)
	assert.Empty(t, lift.Until)
	lifted := cs[1].expectSkipping(campbus.EventMuted)
	assert.Empty(t, lifted.Until, "told the mute is lifted: %+v", lifted)
	cs[1].ok(campbus.CmdMessage, map[string]string{"text": "thanks"}, nil)

	// Kick: the camper is told and closed, its group told, its id free.
	staff.fails(campbus.CmdKick, map[string]string{"campId": "J099"}, 404, campbus.CodeTargetNotCheckedIn)
	staff.fails(campbus.CmdKick, map[string]any{"campId": "J003", "reason": 7}, 400, campbus.CodeBadRequest)
	var k campbus.KickResponse
	staff.ok(campbus.CmdKick, campbus.KickRequest{CampID: "J003", Reason: "flooding"}, &k)
	assert.Equal(t, campbus.KickResponse{CampID: "J003", Group: 1}, k)
	ev = cs[2].expectSkipping(campbus.EventKicked)
	assert.Equal(t, "Mina", ev.By)
	assert.Equal(t, "flooding", ev.Reason)
	cs[2].closed()
	for ev = cs[0].expectSkipping(campbus.EventCheckout); ev.CampID != "J003"; ev = cs[0].expectSkipping(campbus.EventCheckout) {
	}
	assert.Equal(t, campbus.ReasonKicked, ev.Reason)
	assert.Equal(t, uint64(1), n.SessionStats().Kicked)
	again := dial(t, n)
	again.checkinWith("J003")

	// The audit trail names who did what.
	audit := readAudit(t, n)
	assert.Equal(t, []string{"announce Mina", "mute Mina J002", "mute Mina J002", "kick Mina J003"}, audit)
}

// readAudit returns the staff actions kept in GROUPS, oldest first, each
// as "action by campId".
func readAudit(t *testing.T, n *Node) []string {
	t.Helper()
	js, err := jetstream.New(n.handlerNC)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.GroupsStream)
	require.NoError(t, err)
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.LogStaffPrefix + ">"}})
	require.NoError(t, err)
	var out []string
	for {
		m, err := cons.Next(jetstream.FetchMaxWait(500 * time.Millisecond))
		if err != nil {
			return out
		}
		var a struct {
			Action, By, CampID string
		}
		require.NoError(t, json.Unmarshal(m.Data(), &a))
		line := a.Action + " " + a.By
		if a.CampID != "" {
			line += " " + a.CampID
		}
		out = append(out, line)
	}
}

func TestStaffMuteAndKickCampersOfOtherNodes(t *testing.T) {
	ns := startCluster(t, 3, func(o *Options) { o.AuthSecret = campSecret })
	staff := dial(t, ns[0])
	staff.signIn("Mina")
	j1, j2 := dial(t, ns[1]), dial(t, ns[2])
	j1.checkinWith("J001")
	j2.checkinWith("J002")
	j1.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 10}, nil)

	// The board and an announcement span the nodes.
	var b campbus.BoardResponse
	staff.ok(campbus.CmdBoard, nil, &b)
	assert.Equal(t, []campbus.BoardGroup{{Group: 1, Members: []string{"J001", "J002"},
		Session: &campbus.BoardSession{Host: "J001", MaxCount: 10}}}, b.Groups)
	var a campbus.AnnounceResponse
	staff.ok(campbus.CmdAnnounce, campbus.AnnounceRequest{Text: "모두 강당으로"}, &a)
	assert.Equal(t, 2, a.Reached)
	for _, c := range []*camper{j1, j2} {
		assert.Equal(t, "모두 강당으로", c.expectSkipping(campbus.EventAnnouncement).Text)
	}

	staff.ok(campbus.CmdMute, map[string]any{"campId": "J001", "minutes": 5}, nil)
	j1.expectSkipping(campbus.EventMuted)
	// Every node's handlers learn of it from the log (a moment, at most).
	for deadline := time.Now().Add(waitFor); ; {
		f := j1.do(campbus.CmdMessage, map[string]string{"text": "hello?"})
		if f.Status == 403 || time.Now().After(deadline) {
			requireError(t, f, 403, campbus.CodeMuted)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	staff.ok(campbus.CmdKick, campbus.KickRequest{CampID: "J002"}, nil)
	assert.Equal(t, "Mina", j2.expectSkipping(campbus.EventKicked).By)
	j2.closed()
	ev := j1.expectSkipping(campbus.EventCheckout)
	assert.Equal(t, "J002", ev.CampID)
	assert.Equal(t, campbus.ReasonKicked, ev.Reason)
	dial(t, ns[0]).checkinWith("J002") // free again, on any node
}

func TestRevokedTokensAreRefusedOnEveryNodeAndTheCamperIsClosed(t *testing.T) {
	ns := startCluster(t, 3, func(o *Options) { o.AuthSecret = campSecret })
	staff := dial(t, ns[0])
	staff.signIn("Mina")
	old := mintFor(t, "J002")
	j2 := dial(t, ns[2])
	j2.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J002", Token: old}, nil)
	j1 := dial(t, ns[1])
	j1.checkinWith("J001")

	began := time.Now()
	var r campbus.RevokeResponse
	staff.ok(campbus.CmdRevoke, campbus.RevokeRequest{CampID: "J002"}, &r)
	assert.Equal(t, "J002", r.CampID)
	assert.Equal(t, 1, r.Group)
	ev := j2.expectSkipping(campbus.EventKicked)
	assert.Equal(t, "Mina", ev.By)
	assert.Contains(t, ev.Reason, "revoked")
	j2.closed()
	assert.Less(t, time.Since(began), time.Second, "its connection closed within a second")
	assert.Equal(t, campbus.ReasonKicked, j1.expectSkipping(campbus.EventCheckout).Reason)

	// The old token is refused on every node, a camper not checked in may
	// be revoked too, and a token minted after the revocation works.
	for _, n := range ns {
		e := dial(t, n).fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J002", Token: old}, 401, campbus.CodeBadToken)
		assert.Contains(t, e.Message, "revoked by Mina")
	}
	var absent campbus.RevokeResponse
	staff.ok(campbus.CmdRevoke, campbus.RevokeRequest{CampID: "J009"}, &absent)
	assert.Zero(t, absent.Group, "not checked in: nobody to close")
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond))) // tokens count in seconds
	dial(t, ns[1]).ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J002", Token: mintFor(t, "J002")}, nil)
	dial(t, ns[0]).fails(campbus.CmdRevoke, campbus.RevokeRequest{CampID: "J001"}, 403, campbus.CodeForbidden)
}

func TestARedactedMessageLosesItsTextInHistoryOnEveryNode(t *testing.T) {
	ns := startCluster(t, 3, func(o *Options) { o.AuthSecret = campSecret })
	staff := dial(t, ns[0])
	staff.signIn("Mina")
	j1, j2 := dial(t, ns[1]), dial(t, ns[2])
	j1.checkinWith("J001")
	j2.checkinWith("J002")
	j1.expectSkipping(campbus.EventJoin)
	j1.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 5}, nil)
	j1.ok(campbus.CmdMessage, map[string]string{"text": "my password is hunter2"}, nil)
	leaked := j2.expectSkipping(campbus.EventMessage)
	j1.ok(campbus.CmdMessage, map[string]string{"text": "oops"}, nil)
	j2.expectSkipping(campbus.EventMessage)

	staff.fails(campbus.CmdRedact, map[string]int{"group": 1, "offset": 1}, 404, campbus.CodeNoMessage) // a join
	staff.fails(campbus.CmdRedact, map[string]int{"group": 1, "offset": 99}, 404, campbus.CodeNoMessage)
	staff.fails(campbus.CmdRedact, map[string]int{"group": 0, "offset": 1}, 400, campbus.CodeBadRequest)
	j1.fails(campbus.CmdRedact, map[string]any{"group": 1, "offset": leaked.Offset}, 403, campbus.CodeForbidden)
	var r campbus.RedactResponse
	staff.ok(campbus.CmdRedact, map[string]any{"group": 1, "offset": leaked.Offset}, &r)
	assert.Equal(t, campbus.RedactResponse{Group: 1, Offset: leaked.Offset}, r)
	for _, c := range []*camper{j1, j2} {
		ev := c.expectSkipping(campbus.EventRedacted)
		assert.Equal(t, leaked.Offset, ev.Offset, "it names the redacted message")
		assert.Equal(t, "Mina", ev.By)
	}

	// History, with and without after, from campers on two nodes (and so
	// their handlers anywhere), and from a newcomer on the third.
	j3 := dial(t, ns[0])
	j3.checkinWith("J003")
	for _, c := range []*camper{j1, j2, j3} {
		for _, body := range []any{nil, map[string]uint64{"after": leaked.Offset - 1}} {
			var h campbus.HistoryResponse
			c.ok(campbus.CmdHistory, body, &h)
			var texts []string
			seen := false
			for _, raw := range h.Events {
				var ev campbus.Event
				require.NoError(t, json.Unmarshal(raw, &ev))
				require.NotEqual(t, campbus.EventRedacted, ev.Type, "a redaction is no event of history")
				if ev.Type != campbus.EventMessage {
					continue
				}
				texts = append(texts, ev.Text)
				if ev.Offset == leaked.Offset {
					seen = true
					assert.True(t, ev.Redacted)
					assert.Equal(t, "Mina", ev.RedactedBy)
					assert.NotContains(t, string(raw), "hunter2")
				}
			}
			assert.True(t, seen, "%s: the redacted message is there, without its text", c.id)
			assert.Equal(t, []string{"", "oops"}, texts, "%s (%v)", c.id, body)
		}
	}
	// The offsets go on without a gap: the redaction took none (after the
	// leak: "oops", J003's join, then this one).
	j1.ok(campbus.CmdMessage, map[string]string{"text": "next"}, nil)
	assert.Equal(t, leaked.Offset+3, j2.expectSkipping(campbus.EventMessage).Offset)
}

func TestAServerOpenToOtherMachinesWithoutTokensSaysSo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		warned bool
	}{
		{"every interface, no secret", Options{Addr: "0.0.0.0:0"}, true},
		{"loopback alone", Options{Addr: "127.0.0.1:0"}, false},
		{"every interface, with a secret", Options{Addr: "0.0.0.0:0", AuthSecret: campSecret}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log logBuffer
			tc.opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
			startNode(t, tc.opts)
			assert.Equal(t, tc.warned, log.count("this camp needs no token") == 1, "%s", log.text())
		})
	}
}

// A node started anew knows the camp's mutes before it takes a message.
func TestARestartedNodeKnowsTheMutesAtOnce(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, Options{AuthSecret: campSecret, DataDir: dir})
	staff := dial(t, n)
	staff.signIn("Mina")
	staff.ok(campbus.CmdMute, campbus.MuteRequest{CampID: "J004", Minutes: 10}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))

	again := startNode(t, Options{AuthSecret: campSecret, DataDir: dir})
	c := dial(t, again)
	c.checkinWith("J004")
	c.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 3}, nil)
	c.fails(campbus.CmdMessage, map[string]string{"text": "first thing"}, 403, campbus.CodeMuted)
}
