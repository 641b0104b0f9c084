package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/node"
)

func TestBackoffDoublesToItsCapWithJitter(t *testing.T) {
	b := backoff{500 * time.Millisecond, 30 * time.Second}
	for attempt, full := range []time.Duration{
		500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second,
	} {
		for range 50 {
			w := b.wait(attempt)
			require.LessOrEqual(t, w, full, "attempt %d", attempt)
			require.GreaterOrEqual(t, w, full/2, "attempt %d", attempt)
		}
	}
	assert.LessOrEqual(t, b.wait(1000), 30*time.Second, "no overflow after many attempts")
}

func TestPlaceShowsEachDirectOnce(t *testing.T) {
	direct := func(from, text string) client.Event {
		return client.Event{Event: campbus.Event{Type: campbus.EventDirect, From: from, Text: text}}
	}
	var p place
	p.checkedIn(campbus.CheckinResponse{CampID: "J004", Group: 1, Offset: 3}, "e1")
	p.saw(direct("J005", "hi"))
	p.saw(direct("J005", "hi"))
	assert.True(t, p.shown(direct("J005", "hi")))
	assert.True(t, p.shown(direct("J005", "hi")), "shown twice, matches twice")
	assert.False(t, p.shown(direct("J005", "hi")), "but not a third time")

	p.saw(direct("J006", "old"))
	p.saw(client.Event{Event: campbus.Event{Type: campbus.EventMessage, Group: 1, Offset: 4}, Raw: []byte(`{"group":1,"offset":4,"epoch":"e2"}`)})
	assert.Equal(t, uint64(4), p.offset)
	assert.Equal(t, "e2", p.epoch, "the epoch travels with the offset")
	assert.False(t, p.shown(direct("J006", "old")), "directs before the last group event are forgotten")
	p.saw(client.Event{Event: campbus.Event{Type: campbus.EventMessage, Group: 2, Offset: 9}})
	assert.Equal(t, uint64(4), p.offset, "another group's offsets are not this one's")
}

func TestOwnEventsAreTheCampersOwnDoing(t *testing.T) {
	ev := func(e campbus.Event) client.Event { return client.Event{Event: e} }
	assert.True(t, own(ev(campbus.Event{Type: campbus.EventJoin, CampID: "J004"}), "J004"))
	assert.True(t, own(ev(campbus.Event{Type: campbus.EventMessage, From: "J004"}), "J004"))
	assert.True(t, own(ev(campbus.Event{Type: campbus.EventComplete, Host: "J004", Reason: campbus.ReasonComplete}), "J004"))
	assert.False(t, own(ev(campbus.Event{Type: campbus.EventComplete, Host: "J004", Reason: campbus.ReasonHostLeft}), "J004"),
		"the end of one's session for leaving is news")
	assert.False(t, own(ev(campbus.Event{Type: campbus.EventJoin, CampID: "J005"}), "J004"))
}

// restartE2ENode shuts n down (campers get the shutdown event) and starts a
// node on the same address and data dir.
func restartE2ENode(t *testing.T, n *node.Node, dataDir string, tune ...func(*node.Options)) *node.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
	return startE2ENode(t, append([]func(*node.Options){func(o *node.Options) { o.Addr, o.DataDir = n.Addr().String(), dataDir }}, tune...)...)
}

func TestConnectReconnectsAfterARestartAndShowsExactlyWhatItMissed(t *testing.T) {
	verifyNoLeaks(t)
	dir := t.TempDir()
	n := startE2ENode(t, func(o *node.Options) { o.DataDir = dir })

	human := startConnect(t, "--addr", n.Addr().String(), "J004")
	human.expect("< checkin success to group#1 (members: J004)\n")
	machine := startConnect(t, "--addr", n.Addr().String(), "--json", "J006")
	human.expect("< J006 joined group#1 (members: J004, J006)\n")
	j005, _ := dialCamper(t, n, "J005")
	human.expect("< J005 joined group#1 (members: J004, J006, J005)\n")
	doOK(t, j005, campbus.CmdDirect, campbus.DirectRequest{CampID: "J004", Text: "seen before"})
	human.expect(`< direct from J005, "seen before"` + "\n")

	// The server restarts. Until the test lets them, the two clients cannot
	// check in again: their ids are held by other connections.
	n = restartE2ENode(t, n, dir)
	human.expect("< server shutting down\n< the server is shutting down; reconnecting (Ctrl-D stops)\n")
	holders := map[string]*client.Client{}
	for _, id := range []string{"J004", "J006"} {
		holders[id], _ = dialCamper(t, n, id)
	}
	human.expect("< checkin as J004 refused for now: ")

	// Meanwhile the group goes on.
	j005, _ = dialCamper(t, n, "J005")
	doOK(t, j005, campbus.CmdPeerSession, map[string]int{"maxCount": 5})
	doOK(t, j005, campbus.CmdMessage, campbus.MessageRequest{Text: "while you were away"})
	doOK(t, j005, campbus.CmdDirect, campbus.DirectRequest{CampID: "J004", Text: "to the holder"})

	// J004's id is free again: it comes back and catches up.
	require.NoError(t, holders["J004"].Close())
	human.expect("< reconnected after ")
	human.expect(" missed events\n")
	for _, line := range []string{
		"< (missed) J005 left group#1 (disconnected)\n",
		"< (missed) J005 joined group#1 (members: J004, J006, J005)\n",
		"< (missed) peersession started by J005 (maxCount=5)\n",
		`< (missed) message from J005, "while you were away"` + "\n",
		`< (missed) direct from J005, "to the holder"` + "\n",
	} {
		human.expect(line)
	}
	require.NoError(t, holders["J006"].Close())
	human.expect("< J006 left group#1 (disconnected)\n")
	human.expect("< J006 joined group#1 (members: J005, J004, J006)\n")

	// Live again: a message reaches it once.
	doOK(t, j005, campbus.CmdMessage, campbus.MessageRequest{Text: "welcome back"})
	human.expect(`< message from J005, "welcome back"` + "\n")
	human.send("message thanks")
	human.expect("> message thanks\n< message sent (seq 3, ")

	out := human.stdout.String()
	var said int
	_, err := fmt.Sscanf(out[strings.Index(out, "< reconnected after "):], "< reconnected after %s %d missed events", new(string), &said)
	require.NoError(t, err, "output:\n%s", out)
	assert.Equal(t, said, strings.Count(out, "(missed)"), "the count said is the count shown:\n%s", out)
	assert.Equal(t, 7, said, "J005 and J006 left and the holder of J006 joined, then J005 joined, its session, message and direct")
	assert.NotContains(t, out, "(missed) J004", "its own leaving and joining are not news to it")
	assert.Equal(t, 1, strings.Count(out, "while you were away"), "shown once:\n%s", out)
	assert.Equal(t, 1, strings.Count(out, "seen before"), "a direct seen live is not shown again:\n%s", out)
	assert.Contains(t, out, `"to the holder"`+"\n", "the holder's direct was stored for J004: %s", out)

	// The --json client says the same for programs.
	machine.expectJSON(t, func(line map[string]any) bool { return line["kind"] == "connection" && line["state"] == "lost" })
	reconnected := machine.expectJSON(t, func(line map[string]any) bool {
		return line["kind"] == "connection" && line["state"] == "reconnected"
	})
	assert.Positive(t, reconnected["afterMs"])
	missed := machine.expectJSON(t, func(line map[string]any) bool { return line["missed"] == true })
	assert.Equal(t, "event", missed["kind"])
}

// expectJSON waits for a --json line that match accepts, consuming the
// output up to it, and returns it.
func (sc *scriptedConnect) expectJSON(t *testing.T, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.NewTimer(e2eTimeout)
	defer deadline.Stop()
	for {
		out, changed := sc.stdout.snapshot()
		for {
			end := strings.IndexByte(out[sc.seen:], '\n')
			if end < 0 {
				break
			}
			line := out[sc.seen : sc.seen+end]
			sc.seen += end + 1
			var v map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &v), "line %q", line)
			if match(v) {
				return v
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no such JSON line; the output is:\n%s", out)
		}
	}
}
