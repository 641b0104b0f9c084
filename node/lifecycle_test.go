package node

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/internal/camptest"
)

func TestObserverSeesEventsAndCannotPublish(t *testing.T) {
	n := startNode(t, Options{NATSAddr: "127.0.0.1:0"})
	require.NotEmpty(t, n.NATSURL())

	violations := make(chan error, 8)
	obs, err := nats.Connect(n.NATSURL(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	require.NoError(t, err)
	defer obs.Close()
	groups, err := obs.SubscribeSync("group.>")
	require.NoError(t, err)
	directs, err := obs.SubscribeSync("camper.>")
	require.NoError(t, err)
	require.NoError(t, obs.Flush())

	cs := group(t, n, "J001", "J002")
	cs[0].ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J002", Text: "hi"}, nil)
	cs[1].expect(campbus.EventDirect)

	for _, want := range []string{"J001", "J002"} {
		m, err := groups.NextMsg(waitFor)
		require.NoError(t, err)
		assert.Equal(t, "group.1", m.Subject)
		var ev campbus.Event
		require.NoError(t, json.Unmarshal(m.Data, &ev))
		assert.Equal(t, campbus.EventJoin, ev.Type)
		assert.Equal(t, want, ev.CampID)
	}
	m, err := directs.NextMsg(waitFor)
	require.NoError(t, err)
	assert.Equal(t, "camper.J002", m.Subject)
	assert.JSONEq(t, `{"type":"direct","from":"J001","to":"J002","text":"hi"}`, string(m.Data))

	// An observer's publish is refused, and no camper sees it.
	require.NoError(t, obs.Publish("group.1", []byte(`{"type":"message","from":"J666","text":"injected"}`)))
	select {
	case err := <-violations:
		assert.ErrorIs(t, err, nats.ErrPermissionViolation)
	case <-time.After(waitFor):
		t.Fatal("the observer's publish was not refused")
	}
	cs[1].ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J001", Text: "next"}, nil)
	assert.Equal(t, "next", cs[0].expect(campbus.EventDirect).Text, "the injected message never arrived")
}

func TestShutdownTellsEveryoneAndChecksThemOut(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, Options{DataDir: dir})
	cs := group(t, n, "J001", "J002", "J003")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
	for _, c := range cs {
		for {
			ev := c.event()
			if ev.Type == campbus.EventShutdown {
				assert.Equal(t, "server shutting down", ev.Reason)
				break
			}
			assert.Equal(t, campbus.EventCheckout, ev.Type, "only checkouts may come before the shutdown event")
		}
		c.closed()
	}
	// The log records that all three left.
	left := checkoutsInLog(t, dir)
	assert.ElementsMatch(t, []string{"J001", "J002", "J003"}, left)
}

func TestRestartAfterACrashChecksOutTheCampersLeftBehind(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, Options{DataDir: dir})
	cs := group(t, n, "J001", "J002")
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 3}, nil)
	cs[1].expect(campbus.EventPeerSession)
	crash(t, n)

	n2 := startNode(t, Options{DataDir: dir})
	c := dial(t, n2)
	var r campbus.CheckinResponse
	c.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001"}, &r)
	assert.Equal(t, campbus.CheckinResponse{CampID: "J001", Group: 1, Members: []string{"J001"}, Offset: 7, Epoch: n2.Epoch()}, r,
		"J001 and J002 were checked out at start (the session ended too), so group 1 is empty and J001 is free")
	c.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 1}, nil) // the old session ended
	assert.ElementsMatch(t, []string{"J001", "J002"}, checkoutsInLog(t, dir))
}

// crash stops a node the hard way: the bus goes first, so nobody is checked
// out and the log keeps them as members, as after kill -9.
func crash(t *testing.T, n *Node) {
	t.Helper()
	n.bus.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_ = n.Shutdown(ctx)
}

// checkoutsInLog lists the campIds of the checkout events in the event log
// of a stopped node's data dir.
func checkoutsInLog(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	for _, ev := range camptest.GroupEvents(t, dir, bus.LogPrefix+bus.GroupPrefix+"*") {
		if ev.Type == campbus.EventCheckout {
			left = append(left, ev.CampID)
		}
	}
	return left
}

func TestANodeLeavesNoGoroutineBehind(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	// Registered first, so it runs after every other cleanup of the test.
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n := startNode(t, Options{NATSAddr: "127.0.0.1:0"})
	cs := group(t, n, "J001", "J002")
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 1}, nil)
	cs[1].expect(campbus.EventPeerSession)
	cs[1].ok(campbus.CmdMessage, map[string]string{"text": "x"}, nil)
	cs[0].expect(campbus.EventMessage)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
	for _, c := range cs {
		c.closed()
	}
}
