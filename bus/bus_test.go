package bus

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func startBus(t *testing.T) *Bus {
	t.Helper()
	b, err := Start(Options{ServerName: "t", ListenAddr: "127.0.0.1:0", DataDir: t.TempDir(), OperatorPassword: "op-secret"})
	require.NoError(t, err)
	t.Cleanup(b.Shutdown)
	return b
}

func TestStoredEventsAreRepublishedAndRejectedOnesAreNot(t *testing.T) {
	b := startBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := b.Connect("test")
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = EnsureStreams(ctx, js, StreamOptions{})
	require.NoError(t, err)

	obs, err := nats.Connect(b.ClientURL())
	require.NoError(t, err)
	defer obs.Close()
	sub, err := obs.SubscribeSync("group.>")
	require.NoError(t, err)
	require.NoError(t, obs.Flush())

	ack, err := js.Publish(ctx, LogGroupSubject(1), []byte(`{"n":1}`), jetstream.WithExpectLastSequencePerSubject(0))
	require.NoError(t, err)
	_, err = js.Publish(ctx, LogGroupSubject(1), []byte(`{"n":"stale"}`), jetstream.WithExpectLastSequencePerSubject(0))
	require.True(t, IsWrongLastSequence(err), "want wrong-last-sequence, got %v", err)
	_, err = js.Publish(ctx, LogGroupSubject(1), []byte(`{"n":2}`), jetstream.WithExpectLastSequencePerSubject(ack.Sequence))
	require.NoError(t, err)

	for _, want := range []string{`{"n":1}`, `{"n":2}`} {
		m, err := sub.NextMsg(5 * time.Second)
		require.NoError(t, err)
		assert.Equal(t, "group.1", m.Subject)
		assert.Equal(t, want, string(m.Data))
	}
	_, err = sub.NextMsg(100 * time.Millisecond)
	assert.ErrorIs(t, err, nats.ErrTimeout, "the refused publish must not reach observers")
}

func TestObserverCannotPublishOrJoinQueues(t *testing.T) {
	b := startBus(t)
	errs := make(chan error, 4)
	obs, err := nats.Connect(b.ClientURL(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	require.NoError(t, err)
	defer obs.Close()

	require.NoError(t, obs.Publish("group.1", []byte(`{"type":"message"}`)))
	select {
	case err := <-errs:
		assert.ErrorIs(t, err, nats.ErrPermissionViolation)
	case <-time.After(5 * time.Second):
		t.Fatal("publishing as an observer was not refused")
	}
	_, err = obs.QueueSubscribeSync("req.checkin", HandlerQueue)
	require.NoError(t, err) // refused asynchronously
	select {
	case err := <-errs:
		assert.ErrorIs(t, err, nats.ErrPermissionViolation)
	case <-time.After(5 * time.Second):
		t.Fatal("a queue subscription by an observer was not refused")
	}

	op, err := nats.Connect(b.ClientURL(), nats.UserInfo(OperatorUser, "op-secret"))
	require.NoError(t, err)
	defer op.Close()
	require.NoError(t, op.Publish("anything", nil))
	require.NoError(t, op.Flush())
}
