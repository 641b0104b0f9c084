package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// checkinEpoch checks c in as id and returns the epoch of its response.
func (c *camper) checkinEpoch(id string) string {
	c.t.Helper()
	var r campbus.CheckinResponse
	c.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: id}, &r)
	c.id = id
	require.Regexp(c.t, epochForm, r.Epoch, "the checkin response carries the epoch")
	return r.Epoch
}

// stop shuts n down gracefully.
func stop(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
}

func TestAWipedDataDirStartsALogWithANewEpoch(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, Options{DataDir: dir})
	c := dial(t, n)
	old := c.checkinEpoch("J001")
	assert.Equal(t, old, n.Epoch())
	var h campbus.HistoryResponse
	c.ok(campbus.CmdHistory, map[string]any{"after": 0, "epoch": old}, &h)
	assert.Equal(t, old, h.Epoch, "history after, with the log's epoch")
	c.ok(campbus.CmdHistory, nil, &h)
	assert.Equal(t, old, h.Epoch, "history without after")
	var join campbus.Event
	require.NoError(t, json.Unmarshal(h.Events[0], &join))
	assert.Equal(t, old, join.Epoch, "events read back carry it")
	stop(t, n)

	// A restart on the same data keeps the log, and its epoch.
	n = startNode(t, Options{DataDir: dir})
	assert.Equal(t, old, dial(t, n).checkinEpoch("J002"))
	stop(t, n)

	// The data dir wiped: a new log, offsets from 1 again, a new epoch.
	require.NoError(t, os.RemoveAll(dir))
	n = startNode(t, Options{DataDir: dir})
	c = dial(t, n)
	now := c.checkinEpoch("J001")
	assert.NotEqual(t, old, now, "a new log has a new epoch")
	e := c.fails(campbus.CmdHistory, map[string]any{"after": 5, "epoch": old}, 409, campbus.CodeEpochChanged)
	assert.Equal(t, now, e.Epoch, "the refusal names the log's epoch")
	var raw map[string]any
	require.NoError(t, json.Unmarshal(c.do(campbus.CmdHistory, map[string]any{"after": 5, "epoch": old}).Body, &raw))
	assert.Equal(t, map[string]any{"error": e.Message, "code": "epoch-changed", "epoch": now}, raw)

	// The log's own epoch, or none, is answered; an epoch without after
	// is not compared (the latest events of whatever log there is).
	c.ok(campbus.CmdHistory, map[string]any{"after": 0, "epoch": now}, &h)
	assert.Len(t, h.Events, 1)
	assert.Equal(t, now, h.Epoch)
	c.ok(campbus.CmdHistory, map[string]any{"after": 0}, &h)
	assert.Len(t, h.Events, 1)
	c.ok(campbus.CmdHistory, map[string]any{"epoch": old}, &h)
	assert.Equal(t, now, h.Epoch)

	for _, bad := range []string{`{"after":1,"epoch":5}`, `{"after":1,"epoch":null}`, `{"after":1,"epoch":""}`, `{"epoch":true}`, `{"after":1,"epoch":["x"]}`} {
		c.fails(campbus.CmdHistory, bad, 400, campbus.CodeBadEpoch)
	}
	c.fails(campbus.CmdHistory, fmt.Sprintf(`{"after":-1,"epoch":%q}`, old), 400, campbus.CodeBadAfter)
}

func TestEveryGroupEventOnTheBusCarriesTheEpoch(t *testing.T) {
	n := startNode(t, Options{NATSAddr: "127.0.0.1:0"})
	nc, err := nats.Connect(n.NATSURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	seen := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe("group.>", seen)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, nc.Flush())

	cs := group(t, n, "J001", "J002")
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 10}, nil)
	cs[1].expect(campbus.EventPeerSession)
	cs[1].ok(campbus.CmdMessage, map[string]string{"text": "one"}, nil)
	cs[0].expect(campbus.EventMessage)
	// Pipelined: on a node alone these go out several at once.
	for k := 0; k < 5; k++ {
		cs[1].request(campbus.CmdMessage, map[string]string{"text": fmt.Sprint("burst ", k)})
	}
	for k := 0; k < 5; k++ {
		require.Equal(t, 200, cs[1].response().Status)
		cs[0].expect(campbus.EventMessage)
	}
	cs[0].ok(campbus.CmdComplete, nil, nil)
	cs[1].expect(campbus.EventComplete)
	cs[1].ok(campbus.CmdCheckout, nil, nil)
	cs[0].expect(campbus.EventCheckout)

	want := []string{"join", "join", "peersession", "message", "message", "message", "message", "message", "message", "complete", "checkout"}
	var got []string
	for range want {
		select {
		case m := <-seen:
			var ev campbus.Event
			require.NoError(t, json.Unmarshal(m.Data, &ev), "%s", m.Data)
			assert.Equal(t, n.Epoch(), ev.Epoch, "event on %s: %s", m.Subject, m.Data)
			assert.Equal(t, uint64(len(got)+1), ev.Offset)
			got = append(got, ev.Type)
		case <-time.After(waitFor):
			require.FailNow(t, "group events missing on the bus", "seen %v", got)
		}
	}
	assert.Equal(t, want, got)
}

func TestAClusterKeepsItsEpochAcrossARestartAndANewClusterMakesAnother(t *testing.T) {
	ns := startCluster(t, 3)
	epoch := ns[0].Epoch()
	require.Regexp(t, epochForm, epoch)
	for i, n := range ns {
		assert.Equal(t, epoch, n.Epoch(), "n%d", i+1)
		assert.Equal(t, epoch, dial(t, n).checkinEpoch(fmt.Sprintf("J%03d", i+1)), "checkin on n%d", i+1)
	}

	// A node of the cluster restarts on its data: the same log.
	stop(t, ns[2])
	back, err := startClustered(ns[2].opts)
	require.NoError(t, err)
	ns[2] = back // shut down with the others
	assert.Equal(t, epoch, back.Epoch(), "the restarted node")
	assert.Equal(t, epoch, dial(t, back).checkinEpoch("J009"), "checkin on the restarted node")
	shutdownAll(ns)

	// Another cluster: another log.
	other := startCluster(t, 3)
	assert.NotEqual(t, epoch, other[0].Epoch(), "a new cluster has a new epoch")
	for i, n := range other[1:] {
		assert.Equal(t, other[0].Epoch(), n.Epoch(), "n%d of the new cluster", i+2)
	}
}
