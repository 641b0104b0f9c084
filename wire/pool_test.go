package wire

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPooledReaderGivesItsBufferBackOnlyWhenNothingIsBuffered(t *testing.T) {
	pool := NewReaderPool(Limits{})
	two := string(AppendRequest(nil, "mission", "1", []byte(`{"day":4}`))) + string(AppendRequest(nil, "mission", "2", []byte(`{"day":5}`)))
	r := pool.NewReader(strings.NewReader(two))
	assert.Zero(t, r.Buffered(), "no buffer before the first read")

	f, err := r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, "1", f.Get(FieldRequestID))
	require.Positive(t, r.Buffered(), "the second frame came in the same read")
	r.Release()
	require.NotNil(t, r.br, "a buffer holding unread bytes is kept")

	f, err = r.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, "2", f.Get(FieldRequestID))
	r.Release()
	assert.Nil(t, r.br, "an empty buffer goes back to the pool")
	_, err = r.ReadFrame()
	assert.ErrorIs(t, err, io.EOF, "and a new one is borrowed for the next read")
}
