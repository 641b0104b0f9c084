package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheBudgetIsSharedWithoutExceedingIt(t *testing.T) {
	for _, tc := range []struct {
		name           string
		total, directs int64
		want           Budget
	}{
		{"no budget bounds only the directs", 0, 1 << 30, Budget{Directs: 1 << 30}},
		{"the minimum", MinMaxStore, 1 << 30, Budget{Total: MinMaxStore, Groups: 655360, Directs: 262144, Campers: 131072}},
		{"a smaller cap on directs leaves the rest to groups", 8 << 20, 1 << 20, Budget{Total: 8 << 20, Groups: 6 << 20, Directs: 1 << 20, Campers: 1 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := SplitBudget(tc.total, tc.directs)
			assert.Equal(t, tc.want, b)
			if b.Total > 0 {
				assert.LessOrEqual(t, b.Groups+b.Directs+b.Campers, b.Total)
			}
		})
	}
}

func TestStorageRefusalsAreToldFromOtherErrors(t *testing.T) {
	api := func(code jetstream.ErrorCode, desc string) error {
		return fmt.Errorf("publish: %w", &jetstream.APIError{Code: 503, ErrorCode: code, Description: desc})
	}
	for _, tc := range []struct {
		err  error
		full bool
	}{
		{api(10023, "insufficient resources"), true},
		{api(10047, "insufficient storage resources available"), true},
		{api(10002, "resource limits exceeded for account"), true},
		{api(10077, "maximum bytes exceeded"), true},
		{api(10077, "write /data/jetstream/x.blk: no space left on device"), true},
		{api(10077, "maximum messages per subject exceeded"), false},
		{api(jetstream.JSErrCodeStreamWrongLastSequence, "wrong last sequence: 4"), false},
		{errors.New("write: no space left on device"), true},
		{context.DeadlineExceeded, false},
		{nil, false},
	} {
		assert.Equal(t, tc.full, IsStorageFull(tc.err), "%v", tc.err)
	}
}

func TestEveryStreamFitsInTheSmallestBudgetAndGroupsKeepTheirLastEvent(t *testing.T) {
	_, js, ctx, stop := startTestBus(t, Options{ServerName: "t", DataDir: t.TempDir(), MaxStore: MinMaxStore})
	t.Cleanup(stop)
	st, err := EnsureStreams(ctx, js, StreamOptions{MaxStore: MinMaxStore, DirectMaxBytes: 1 << 30})
	require.NoError(t, err)

	// One event in group 1, then group 2 fills the stream.
	_, err = js.Publish(ctx, LogGroupSubject(1), []byte("state of group 1"))
	require.NoError(t, err)
	payload := make([]byte, 900)
	for i := 0; ; i++ {
		require.Less(t, i, 2000, "GROUPS never filled")
		_, err = js.PublishMsg(ctx, &nats.Msg{Subject: LogGroupSubject(2), Data: payload})
		if err != nil {
			assert.True(t, IsStorageFull(err), "refused for lack of room: %v", err)
			break
		}
	}
	info, err := st.Groups.Info(ctx)
	require.NoError(t, err)
	assert.LessOrEqual(t, info.State.Bytes, uint64(st.Budget.Groups))
	last, err := st.Groups.GetLastMsgForSubject(ctx, LogGroupSubject(1))
	require.NoError(t, err, "the quiet group's only event is kept")
	assert.Equal(t, "state of group 1", string(last.Data))
}

func TestTheBudgetIsRaisedWhileTheServerRuns(t *testing.T) {
	b, js, ctx, stop := startTestBus(t, Options{ServerName: "t", ListenAddr: "127.0.0.1:0", DataDir: t.TempDir(), MaxStore: MinMaxStore, OperatorPassword: "op-secret"})
	t.Cleanup(stop)
	_, err := EnsureStreams(ctx, js, StreamOptions{MaxStore: MinMaxStore, DirectMaxBytes: 1 << 30})
	require.NoError(t, err)

	require.NoError(t, b.SetMaxStore(4*MinMaxStore))
	assert.Equal(t, int64(4*MinMaxStore), b.Server().JetStreamConfig().MaxStore)
	st, err := EnsureStreams(ctx, js, StreamOptions{MaxStore: 4 * MinMaxStore, DirectMaxBytes: 1 << 30})
	require.NoError(t, err, "the streams take their larger shares")
	info, err := st.Groups.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, st.Budget.Groups, info.Config.MaxBytes)
	_, err = js.Publish(ctx, LogGroupSubject(1), []byte("still writing"))
	require.NoError(t, err, "the app's connection lived through the reload")
	require.NoError(t, b.SetMaxStore(MinMaxStore), "a smaller budget changes nothing")
	assert.Equal(t, int64(4*MinMaxStore), b.Server().JetStreamConfig().MaxStore)
}

func TestARestartWithASmallerBudgetShrinksTheStreams(t *testing.T) {
	dir := t.TempDir()
	ensure := func(maxStore int64) *Streams {
		_, js, ctx, stop := startTestBus(t, Options{ServerName: "t", DataDir: dir, MaxStore: maxStore})
		defer stop()
		st, err := EnsureStreams(ctx, js, StreamOptions{MaxStore: maxStore, DirectMaxBytes: 1 << 30})
		require.NoError(t, err)
		info, err := st.Groups.Info(ctx)
		require.NoError(t, err)
		assert.Equal(t, st.Budget.Groups, info.Config.MaxBytes)
		return st
	}
	ensure(2*MinMaxStore + 12345)
	st := ensure(MinMaxStore)
	assert.Equal(t, int64(MinMaxStore), st.Budget.Total)
}

func TestAStreamsFailedWriteIsNotedAndReopeningJetStreamClearsIt(t *testing.T) {
	b, js, ctx, stop := startTestBus(t, Options{ServerName: "t", DataDir: t.TempDir(), MaxStore: MinMaxStore})
	t.Cleanup(stop)
	_, err := EnsureStreams(ctx, js, StreamOptions{MaxStore: MinMaxStore})
	require.NoError(t, err)
	_, err = js.Publish(ctx, LogGroupSubject(1), []byte("before"))
	require.NoError(t, err)

	assert.False(t, b.WriteFailed())
	// What nats-server logs when a write to disk fails.
	b.ns.Errorf("JetStream stream '%s > %s' critical write error: %v", "$G", GroupsStream, "write 2.blk: no space left on device")
	assert.True(t, b.WriteFailed())

	require.NoError(t, b.ReopenJetStream())
	assert.False(t, b.WriteFailed())
	assert.True(t, b.ns.JetStreamEnabled())
	_, err = js.Publish(ctx, LogGroupSubject(1), []byte("after"))
	require.NoError(t, err, "the stream came back from the data dir")
	st, err := js.Stream(ctx, GroupsStream)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), info.State.Msgs)
}

// startTestBus starts a bus with opts and returns it, JetStream on a
// connection of its own, and a context bounding the test's waits; stop
// ends all three.
func startTestBus(t *testing.T, opts Options) (*Bus, jetstream.JetStream, context.Context, func()) {
	t.Helper()
	b, err := Start(opts)
	require.NoError(t, err)
	nc, err := b.Connect("test")
	require.NoError(t, err)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	return b, js, ctx, func() {
		cancel()
		nc.Close()
		b.Shutdown()
	}
}

// A raise of the budget is a config reload, which sorts the running
// server's routes in place while its route goroutines read them (a data
// race in nats-server v2.15.2): the routes are handed over sorted, so the
// reload finds nothing to move.
func TestARaiseWithRoutesLeavesTheRoutesAsTheyAre(t *testing.T) {
	ports := []string{"127.0.0.1:3", "127.0.0.1:2", "127.0.0.1:1"} // nothing listens: the routes keep retrying
	var routes []string
	for _, p := range ports {
		routes = append(routes, "nats://"+p)
	}
	b, err := Start(Options{ServerName: "t", ListenAddr: "127.0.0.1:0", DataDir: t.TempDir(), MaxStore: MinMaxStore,
		ClusterAddr: "127.0.0.1:0", Routes: routes, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(b.Shutdown)
	var got []string
	for _, u := range b.nopts.Routes {
		got = append(got, u.Host)
	}
	assert.Equal(t, []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}, got, "in the order a reload imposes")
	for i := range 5 {
		require.NoError(t, b.SetMaxStore(int64(i+2)*MinMaxStore))
	}
}
