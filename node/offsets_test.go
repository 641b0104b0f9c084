package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// historyPage is a history response with its events decoded.
type historyPage struct {
	Events  []campbus.Event `json:"events"`
	Next    *uint64         `json:"next"`
	Trimmed bool            `json:"trimmed"`
}

// historyAfter asks history after an offset (limit 0: the default).
func (c *camper) historyAfter(after uint64, limit int) historyPage {
	c.t.Helper()
	body := map[string]any{"after": after}
	if limit > 0 {
		body["limit"] = limit
	}
	var h historyPage
	// A cluster still settling its leaders may answer 500 or 503 ("try again").
	for try := 0; ; try++ {
		f := c.do(campbus.CmdHistory, body)
		if (f.Status == http.StatusInternalServerError || f.Status == http.StatusServiceUnavailable) && try < 5 {
			c.t.Logf("history after %d: %s; asking again", after, f.Body)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		require.Equal(c.t, 200, f.Status, "history %v: %s", body, f.Body)
		require.NoError(c.t, json.Unmarshal(f.Body, &h))
		break
	}
	require.NotNil(c.t, h.Next, "history after %d carries next", after)
	return h
}

// groupOffsets returns the offsets of the group events among evs, in order.
func groupOffsets(evs []campbus.Event) []uint64 {
	var out []uint64
	for _, ev := range evs {
		if ev.Type != campbus.EventDirect {
			out = append(out, ev.Offset)
		}
	}
	return out
}

// span returns the offsets from, from+1, ..., to.
func span(from, to uint64) []uint64 {
	var out []uint64
	for o := from; o <= to; o++ {
		out = append(out, o)
	}
	return out
}

// sendConcurrently has every camper send n messages at once, pipelined,
// and requires them all accepted.
func sendConcurrently(t *testing.T, cs []*camper, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < n; k++ {
				c.request(campbus.CmdMessage, map[string]string{"text": fmt.Sprint(c.id, "-", k)})
			}
		}()
	}
	wg.Wait()
	for _, c := range cs {
		for k := 0; k < n; k++ {
			f := c.response()
			require.Equal(t, 200, f.Status, "%s", f.Body)
		}
	}
}

// requireIncreasing reads n events of c and requires their offsets to
// rise.
func requireIncreasing(t *testing.T, c *camper, n int) {
	t.Helper()
	var prev uint64
	for k := 0; k < n; k++ {
		ev := c.event()
		require.Greater(t, ev.Offset, prev, "%s sees offsets rise: %+v", c.id, ev)
		prev = ev.Offset
	}
}

func TestGroupOffsetsHaveNoGapsUnderConcurrentSendersAndAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, Options{DataDir: dir})
	cs := group(t, n, "J001", "J002", "J003", "J004")
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 200}, nil)
	for _, c := range cs[1:] {
		assert.Equal(t, uint64(5), c.expect(campbus.EventPeerSession).Offset, "four joins, then the session")
	}
	sendConcurrently(t, cs, 25)
	for _, c := range cs {
		requireIncreasing(t, c, 75) // everyone's messages but its own
	}
	h := cs[0].historyAfter(0, 1000)
	assert.Equal(t, span(1, 105), groupOffsets(h.Events))
	assert.Equal(t, uint64(105), *h.Next)
	assert.False(t, h.Trimmed)

	// A crash, then a restart on the same log: the campers left behind are
	// checked out, and the offsets go on from where they were.
	crash(t, n)
	n = startNode(t, Options{DataDir: dir})
	c := dial(t, n)
	c.checkin("J009")
	h = c.historyAfter(0, 1000)
	offsets := groupOffsets(h.Events)
	assert.Equal(t, span(1, uint64(len(offsets))), offsets, "no gap and no repeat across the restart")
	last := h.Events[len(h.Events)-1]
	assert.Equal(t, campbus.EventJoin, last.Type)
	assert.Equal(t, "J009", last.CampID)
	assert.Greater(t, last.Offset, uint64(105+4), "four checkouts at start, then the join")
}

func TestGroupOffsetsHaveNoGapsAcrossACluster(t *testing.T) {
	ns := startCluster(t, 3)
	var cs []*camper
	for i, id := range []string{"J001", "J002", "J003"} {
		c := dial(t, ns[i])
		c.checkin(id)
		cs = append(cs, c)
	}
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 200}, nil)
	sendConcurrently(t, cs, 20)
	// Every node answers with the same log, offsets 1 to the last.
	var want []uint64
	for i, c := range cs {
		h := c.historyAfter(0, 1000)
		got := groupOffsets(h.Events)
		require.NotEmpty(t, got)
		if i == 0 {
			want = got
			assert.Equal(t, span(1, 3+1+60), got, "three joins, the session, sixty messages")
		}
		assert.Equal(t, want, got, "the log as read on n%d", i+1)
	}
	// Each member saw the others' events with rising offsets.
	requireIncreasing(t, cs[0], 2+40)
	requireIncreasing(t, cs[1], 1+1+40)
	requireIncreasing(t, cs[2], 1+40)
}

func TestHistoryAfterReturnsExactlyWhatWasMissed(t *testing.T) {
	n := startNode(t, Options{})
	cs := group(t, n, "J001", "J002", "J003")
	cs[1].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 50}, nil)
	seen := cs[0].expect(campbus.EventPeerSession).Offset
	cs[2].expect(campbus.EventPeerSession)

	// J001 drops; while it is away the group goes on.
	cs[0].conn.Close()
	for _, c := range cs[1:] {
		assert.Equal(t, "disconnect", c.expect(campbus.EventCheckout).Reason)
	}
	for k := 1; k <= 3; k++ {
		cs[1].ok(campbus.CmdMessage, map[string]string{"text": fmt.Sprint("missed ", k)}, nil)
		cs[2].expect(campbus.EventMessage)
	}
	// It comes back; a direct reaches it before it asks what it missed.
	back := dial(t, n)
	back.checkin("J001")
	cs[2].ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J001", Text: "welcome back"}, nil)
	back.expect(campbus.EventDirect)

	h := back.historyAfter(seen, 0)
	var got []string
	for _, ev := range h.Events {
		got = append(got, fmt.Sprint(ev.Offset, " ", ev.Type, " ", ev.CampID+ev.From, " ", ev.Text))
	}
	assert.Equal(t, []string{
		fmt.Sprint(seen+1, " checkout J001 "),
		fmt.Sprint(seen+2, " message J002 missed 1"),
		fmt.Sprint(seen+3, " message J002 missed 2"),
		fmt.Sprint(seen+4, " message J002 missed 3"),
		fmt.Sprint(seen+5, " join J001 "),
		"0 direct J003 welcome back",
	}, got)
	assert.Equal(t, seen+5, *h.Next)
	assert.False(t, h.Trimmed)

	// After next: no group event, and the directs stored since the event
	// at next (a client that saw them live skips them).
	h = back.historyAfter(*h.Next, 0)
	require.Len(t, h.Events, 1)
	assert.Equal(t, "welcome back", h.Events[0].Text)
	assert.Equal(t, seen+5, *h.Next)

	// Pages of two: every event once, in order, the direct in the page
	// that reaches the time it was stored.
	var paged []campbus.Event
	after := seen
	for page := 0; page < 10; page++ {
		h := back.historyAfter(after, 2)
		if len(groupOffsets(h.Events)) == 0 {
			break
		}
		paged = append(paged, h.Events...)
		after = *h.Next
	}
	assert.Equal(t, span(seen+1, seen+5), groupOffsets(paged))
	directs := 0
	for _, ev := range paged {
		if ev.Type == campbus.EventDirect {
			directs++
		}
	}
	assert.Equal(t, 1, directs, "the direct comes once over the pages")

	// An offset past the group's last: nothing, and next says where the
	// log is.
	h = back.historyAfter(seen+100, 0)
	assert.Empty(t, h.Events)
	assert.Equal(t, seen+5, *h.Next)

	// The limit form still answers, and its group events carry offsets.
	var plain historyPage
	back.ok(campbus.CmdHistory, map[string]int{"limit": 3}, &plain)
	assert.Nil(t, plain.Next)
	require.Len(t, plain.Events, 3)
	assert.Equal(t, seen+4, plain.Events[0].Offset)

	for _, bad := range []string{`{"after":-1}`, `{"after":1.5}`, `{"after":"3"}`, `{"after":null}`, `{"after":1e300}`} {
		back.fails(campbus.CmdHistory, bad, 400, campbus.CodeBadAfter)
	}
	back.fails(campbus.CmdHistory, `{"after":3,"limit":0}`, 400, campbus.CodeBadLimit)
}

func TestHistoryAfterSaysWhenRetentionTrimmedTheLog(t *testing.T) {
	n := startNode(t, Options{Log: bus.StreamOptions{GroupEvents: 5}})
	cs := group(t, n, "J001", "J002")
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 50}, nil)
	cs[1].expect(campbus.EventPeerSession)
	for k := 0; k < 7; k++ {
		cs[1].ok(campbus.CmdMessage, map[string]string{"text": fmt.Sprint(k)}, nil)
		cs[0].expect(campbus.EventMessage)
	}
	// Ten events, the last five kept.
	h := cs[0].historyAfter(2, 0)
	assert.True(t, h.Trimmed, "events 3 to 5 are gone")
	assert.Equal(t, span(6, 10), groupOffsets(h.Events))
	assert.Equal(t, uint64(10), *h.Next)

	h = cs[0].historyAfter(5, 0)
	assert.False(t, h.Trimmed, "everything after 5 is kept")
	assert.Equal(t, span(6, 10), groupOffsets(h.Events))

	raw := cs[0].do(campbus.CmdHistory, map[string]int{"after": 9})
	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw.Body, &body))
	assert.NotContains(t, body, "trimmed", "trimmed is left out when false")
	assert.JSONEq(t, "10", string(body["next"]))
}
