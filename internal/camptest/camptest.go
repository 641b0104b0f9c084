// Package camptest holds test helpers shared by the packages' tests.
package camptest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// GroupEvents opens the data dir of a stopped server with a bus of its own
// and returns, in log order, the group events stored under subject
// (log.group.<n>, or log.group.* for every group).
func GroupEvents(t testing.TB, dataDir, subject string) []campbus.Event {
	t.Helper()
	b, err := bus.Start(bus.Options{ServerName: "reader", DataDir: dataDir})
	require.NoError(t, err)
	defer b.Shutdown()
	nc, err := b.Connect("reader")
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.GroupsStream)
	require.NoError(t, err)
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	require.NoError(t, err)
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	cons, err := js.OrderedConsumer(ctx, bus.GroupsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	require.NoError(t, err)
	events := make([]campbus.Event, 0, total)
	for i := uint64(0); i < total; i++ {
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		require.NoError(t, err)
		var ev campbus.Event
		require.NoError(t, json.Unmarshal(m.Data(), &ev))
		events = append(events, ev)
	}
	return events
}
