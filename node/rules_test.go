package node

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

func TestGroupsFillInOrderAndFreedSeatsAreRefilled(t *testing.T) {
	n := startNode(t, Options{})
	cs := group(t, n, "J001", "J002", "J003", "J004")
	j5 := dial(t, n)
	assert.Equal(t, 2, j5.checkin("J005"), "the fifth camper opens group 2")

	var out campbus.CheckoutResponse
	cs[1].ok(campbus.CmdCheckout, nil, &out)
	assert.Equal(t, campbus.CheckoutResponse{CampID: "J002", Group: 1, ActiveMs: out.ActiveMs}, out)
	assert.GreaterOrEqual(t, out.ActiveMs, int64(0))
	cs[1].closed()
	for _, c := range []*camper{cs[0], cs[2], cs[3]} {
		ev := c.expect(campbus.EventCheckout)
		assert.Equal(t, campbus.Event{Type: campbus.EventCheckout, Group: 1, CampID: "J002", Reason: campbus.ReasonCheckout, Offset: 5}, noEpoch(ev))
	}

	j6 := dial(t, n)
	var r campbus.CheckinResponse
	j6.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J006"}, &r)
	assert.Equal(t, campbus.CheckinResponse{CampID: "J006", Group: 1, Members: []string{"J001", "J003", "J004", "J006"}, Offset: 6, Epoch: n.Epoch()}, r,
		"the freed seat in group 1 is the lowest free one; members are in join order")
	ev := cs[0].expect(campbus.EventJoin)
	assert.Equal(t, []string{"J001", "J003", "J004", "J006"}, ev.Members)
	assert.Equal(t, 1, ev.Group)

	// J002 may check in again once it checked out.
	again := dial(t, n)
	assert.Equal(t, 2, again.checkin("J002"))
	assert.Equal(t, "J002", j5.expect(campbus.EventJoin).CampID)
}

func TestMissionKeywords(t *testing.T) {
	n := startNode(t, Options{})
	c := dial(t, n)
	c.checkin("J004")
	for day := 1; day <= 21; day++ {
		kw, ok := campbus.MissionKeywords(day)
		if !ok {
			e := c.fails(campbus.CmdMission, map[string]int{"day": day}, 404, campbus.CodeNoMission)
			assert.Contains(t, e.Message, "no mission")
			continue
		}
		var r campbus.MissionResponse
		c.ok(campbus.CmdMission, map[string]int{"day": day}, &r)
		assert.Equal(t, campbus.MissionResponse{Day: day, Keywords: kw}, r)
	}
	var r campbus.MissionResponse
	c.ok(campbus.CmdMission, map[string]int{"day": 4}, &r)
	assert.Equal(t, "Heap, Stack", r.Keywords)
	for _, day := range []int{5, 10, 15, 20} {
		c.fails(campbus.CmdMission, map[string]int{"day": day}, 404, campbus.CodeNoMission)
	}
}

func TestPeerSessionBroadcastsUpToMaxCount(t *testing.T) {
	n := startNode(t, Options{})
	cs := group(t, n, "J001", "J002", "J003")
	host, a, b := cs[0], cs[1], cs[2]

	a.fails(campbus.CmdMessage, map[string]string{"text": "too early"}, 409, campbus.CodeNoSession)

	var ps campbus.PeerSessionResponse
	host.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 2}, &ps)
	assert.Equal(t, campbus.PeerSessionResponse{Group: 1, Host: "J001", MaxCount: 2}, ps)
	for _, c := range []*camper{a, b} {
		assert.Equal(t, campbus.Event{Type: campbus.EventPeerSession, Group: 1, Host: "J001", MaxCount: 2, Offset: 4}, noEpoch(c.expect(campbus.EventPeerSession)))
	}
	a.fails(campbus.CmdPeerSession, map[string]int{"maxCount": 5}, 409, campbus.CodeSessionActive)

	var m campbus.MessageResponse
	a.ok(campbus.CmdMessage, map[string]string{"text": "반갑습니다"}, &m)
	assert.Equal(t, campbus.MessageResponse{Group: 1, Seq: 1, Remaining: 1, Delivered: 2}, m)
	for _, c := range []*camper{host, b} {
		ev := c.expect(campbus.EventMessage)
		assert.Equal(t, "J002", ev.From)
		assert.Equal(t, "반갑습니다", ev.Text)
		assert.Equal(t, 1, ev.Seq)
		require.NotNil(t, ev.Remaining)
		assert.Equal(t, 1, *ev.Remaining)
	}
	host.ok(campbus.CmdMessage, map[string]string{"text": "안녕하세요"}, &m)
	assert.Equal(t, campbus.MessageResponse{Group: 1, Seq: 2, Remaining: 0, Delivered: 2}, m)
	assert.Equal(t, "안녕하세요", a.expect(campbus.EventMessage).Text)
	assert.Equal(t, "안녕하세요", b.expect(campbus.EventMessage).Text)

	b.fails(campbus.CmdMessage, map[string]string{"text": "one too many"}, 409, campbus.CodeLimitReached)
	a.fails(campbus.CmdComplete, nil, 403, campbus.CodeNotHost)

	var done campbus.CompleteResponse
	host.ok(campbus.CmdComplete, nil, &done)
	assert.Equal(t, campbus.CompleteResponse{Group: 1, Host: "J001", Messages: 2}, done)
	for _, c := range []*camper{a, b} {
		ev := c.expect(campbus.EventComplete)
		assert.Equal(t, campbus.ReasonComplete, ev.Reason)
		require.NotNil(t, ev.Messages)
		assert.Equal(t, 2, *ev.Messages)
	}
	// The refused message reached nobody: the next event a and b see is the
	// completion, not "one too many" (checked above). After it, no session.
	b.fails(campbus.CmdMessage, map[string]string{"text": "after"}, 409, campbus.CodeNoSession)
	host.fails(campbus.CmdComplete, nil, 409, campbus.CodeNoSession)

	// A new session can start, hosted by anyone.
	b.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 1}, nil)
	assert.Equal(t, "J003", host.expect(campbus.EventPeerSession).Host)
	assert.Equal(t, "J003", a.expect(campbus.EventPeerSession).Host)
}

func TestHostLeavingEndsTheSession(t *testing.T) {
	for _, how := range []string{"checkout", "disconnect"} {
		t.Run("when the host leaves by "+how, func(t *testing.T) {
			n := startNode(t, Options{})
			cs := group(t, n, "J001", "J002", "J003")
			cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 5}, nil)
			cs[1].expect(campbus.EventPeerSession)
			cs[2].expect(campbus.EventPeerSession)
			cs[1].ok(campbus.CmdMessage, map[string]string{"text": "hi"}, nil)
			cs[0].expect(campbus.EventMessage)
			cs[2].expect(campbus.EventMessage)

			if how == "checkout" {
				cs[0].ok(campbus.CmdCheckout, nil, nil)
			} else {
				cs[0].conn.Close()
			}
			for _, c := range cs[1:] {
				ended := c.expect(campbus.EventComplete)
				assert.Equal(t, campbus.ReasonHostLeft, ended.Reason)
				assert.Equal(t, "J001", ended.Host)
				require.NotNil(t, ended.Messages)
				assert.Equal(t, 1, *ended.Messages)
				left := c.expect(campbus.EventCheckout)
				assert.Equal(t, "J001", left.CampID)
				assert.Equal(t, how, left.Reason)
			}
			cs[1].fails(campbus.CmdMessage, map[string]string{"text": "anyone?"}, 409, campbus.CodeNoSession)
		})
	}
}

func TestDisconnectCountsAsCheckout(t *testing.T) {
	n := startNode(t, Options{})
	cs := group(t, n, "J001", "J002")
	cs[1].conn.Close()
	ev := cs[0].expect(campbus.EventCheckout)
	assert.Equal(t, campbus.Event{Type: campbus.EventCheckout, Group: 1, CampID: "J002", Reason: campbus.ReasonDisconnect, Offset: 3}, noEpoch(ev))
	// The campId is free again.
	again := dial(t, n)
	assert.Equal(t, 1, again.checkin("J002"))
}

func TestDirectReachesACamperInAnotherGroup(t *testing.T) {
	n := startNode(t, Options{GroupSize: 2})
	g1 := group(t, n, "J001", "J002")
	g2 := group(t, n, "J003")
	var r campbus.DirectResponse
	g1[0].ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J003", Text: "hello"}, &r)
	assert.Equal(t, campbus.DirectResponse{To: "J003"}, r)
	ev := g2[0].expect(campbus.EventDirect)
	assert.Equal(t, "J001", ev.From)
	assert.Equal(t, "hello", ev.Text)

	g1[0].fails(campbus.CmdDirect, campbus.DirectRequest{CampID: "J099", Text: "anyone?"}, 404, campbus.CodeTargetNotCheckedIn)
	// A direct goes to its target only: J002, in J001's group, got nothing.
	// The next thing it sees is a direct addressed to it.
	g2[0].ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J002", Text: "psst"}, nil)
	ev = g1[1].expect(campbus.EventDirect)
	assert.Equal(t, "psst", ev.Text)
}

func TestCampIDRangeAndGroupSizeFollowOptions(t *testing.T) {
	n := startNode(t, Options{CampIDs: campbus.MustParseIDRange("J00001-J20000"), GroupSize: 2})
	c := dial(t, n)
	e := c.fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J004"}, 400, campbus.CodeBadCampID)
	assert.Contains(t, e.Message, "J00001-J20000")
	c.fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J20001"}, 400, campbus.CodeBadCampID)
	assert.Equal(t, 1, c.checkin("J20000"))
	for i, want := range []int{1, 2, 2, 3} {
		assert.Equal(t, want, dial(t, n).checkin(ids("J00", 1, 4)[i]), "groups of two")
	}
}

func TestHistoryReturnsTheGroupsAndOwnDirectsOldestFirst(t *testing.T) {
	n := startNode(t, Options{GroupSize: 2})
	cs := group(t, n, "J001", "J002")
	other := dial(t, n)
	other.checkin("J003")
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 5}, nil)
	cs[1].expect(campbus.EventPeerSession)
	cs[1].ok(campbus.CmdMessage, map[string]string{"text": "one"}, nil)
	cs[0].expect(campbus.EventMessage)
	other.ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J001", Text: "to you"}, nil)
	cs[0].expect(campbus.EventDirect)
	cs[0].ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J003", Text: "back"}, nil)
	cs[1].ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J003", Text: "not J001's business"}, nil)

	var h struct {
		Events []campbus.Event `json:"events"`
	}
	cs[0].ok(campbus.CmdHistory, nil, &h)
	var got []string
	for _, ev := range h.Events {
		got = append(got, ev.Type+":"+ev.CampID+ev.From+">"+ev.To+ev.Text)
	}
	assert.Equal(t, []string{
		"join:J001>", "join:J002>", "peersession:>", "message:J002>one",
		"direct:J003>J001to you", "direct:J001>J003back",
	}, got)

	cs[0].ok(campbus.CmdHistory, map[string]int{"limit": 2}, &h)
	require.Len(t, h.Events, 2)
	assert.Equal(t, "back", h.Events[1].Text)
	assert.Equal(t, "to you", h.Events[0].Text)

	for _, bad := range []string{`{"limit":0}`, `{"limit":1001}`, `{"limit":"5"}`, `{"limit":2.5}`} {
		cs[0].fails(campbus.CmdHistory, bad, 400, campbus.CodeBadLimit)
	}
	dial(t, n).fails(campbus.CmdHistory, nil, 403, campbus.CodeNotCheckedIn)
}
