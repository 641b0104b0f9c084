package handlers

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// The epoch is a string made once at start: a message's event carries it
// for no allocation more than it cost before.
func TestTheEpochCostsAMessageEventNoAllocation(t *testing.T) {
	remaining := 3
	ev := groupEvent{event: campbus.Event{Type: campbus.EventMessage, From: "J001", Text: "hello", Seq: 1, Remaining: &remaining, Offset: 12}}
	st := &groupState{Members: []string{"J001", "J002"}, Session: &session{Host: "J001", MaxCount: 4, Count: 1}, Offset: 12}
	const epoch = "5f0c1a9e2b7d"
	m, err := groupEventMsg(1, ev, st, epoch)
	require.NoError(t, err)
	var got campbus.Event
	require.NoError(t, json.Unmarshal(m.Data, &got))
	assert.Equal(t, epoch, got.Epoch)
	assert.Equal(t, uint64(12), got.Offset)

	if raceDetector {
		// Under -race sync.Pool drops what it is given at random, and
		// encoding/json pools its buffers: the counts vary from run to run.
		t.Skip("allocation counts are not stable under the race detector")
	}
	allocs := func(epoch string) float64 {
		return testing.AllocsPerRun(200, func() { _, _ = groupEventMsg(1, ev, st, epoch) })
	}
	assert.Equal(t, allocs(""), allocs(epoch), "allocations of a message's event without and with the epoch")
}
