package bus

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheGroupLogKeepsItsEpochAndAnOldOneIsGivenOneOnce(t *testing.T) {
	b := startBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := b.Connect("test")
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)

	// GROUPS as a server before epochs made it, with metadata of its own.
	old, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: GroupsStream, Subjects: []string{LogPrefix + GroupPrefix + "*"}, Storage: jetstream.FileStorage,
		Metadata: map[string]string{"owner": "camp office"},
	})
	require.NoError(t, err)
	created := old.CachedInfo().Created

	st, err := EnsureStreams(ctx, js, StreamOptions{})
	require.NoError(t, err)
	assert.True(t, st.EpochAdded, "the stream had none")
	assert.Regexp(t, `^[0-9a-f]{12}$`, st.Epoch)
	assert.Equal(t, derivedEpoch(GroupsStream, created), st.Epoch, "derived from the creation time, alike on every node")
	info, err := st.Groups.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, st.Epoch, info.Config.Metadata[EpochKey], "kept with the stream")
	assert.Equal(t, "camp office", info.Config.Metadata["owner"], "other metadata is kept")

	again, err := EnsureStreams(ctx, js, StreamOptions{})
	require.NoError(t, err)
	assert.False(t, again.EpochAdded, "given once")
	assert.Equal(t, st.Epoch, again.Epoch)

	// A new log: a new epoch, at random.
	require.NoError(t, js.DeleteStream(ctx, GroupsStream))
	fresh, err := EnsureStreams(ctx, js, StreamOptions{})
	require.NoError(t, err)
	assert.False(t, fresh.EpochAdded)
	assert.Regexp(t, `^[0-9a-f]{12}$`, fresh.Epoch)
	assert.NotEqual(t, st.Epoch, fresh.Epoch)
}
