package node

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

func TestTheBucketsLeaderSaysWhoHoldsACampID(t *testing.T) {
	n := startNode(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	holder := func(id string) (string, bool) {
		t.Helper()
		conn, held, err := n.handlers.HolderFromLeader(ctx, id)
		require.NoError(t, err)
		return conn, held
	}

	_, held := holder("J001")
	assert.False(t, held, "never checked in")

	c := dial(t, n)
	c.checkin("J001")
	var conn string
	for id, campID := range n.hub.CheckedIn() {
		if campID == "J001" {
			conn = id
		}
	}
	got, held := holder("J001")
	assert.True(t, held)
	assert.Equal(t, conn, got, "held by the connection that checked in")

	c.ok(campbus.CmdCheckout, nil, nil)
	_, held = holder("J001")
	assert.False(t, held, "a checkout leaves a delete marker, which holds nothing")

	// A record marked leaving (a checkout, or a sweep, between marking it
	// and deleting it) holds nothing either: the node that finds one of
	// its connections so, after a spell out of sight, closes it.
	js, err := jetstream.New(n.handlerNC)
	require.NoError(t, err)
	kv, err := js.KeyValue(ctx, bus.CampersBucket)
	require.NoError(t, err)
	_, err = kv.Put(ctx, "J002", []byte(`{"conn":"n1.r.9","checkinMs":1,"group":1,"leaving":true}`))
	require.NoError(t, err)
	_, held = holder("J002")
	assert.False(t, held, "leaving")
}
