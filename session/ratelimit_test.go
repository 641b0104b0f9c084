package session

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestTokenBucketAllowsABurstThenTheRate(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newTokenBucket(2, 5, now)
	for i := 0; i < 5; i++ {
		assert.True(t, b.allow(now), "request %d of the burst", i+1)
	}
	assert.False(t, b.allow(now), "the burst is spent")
	assert.False(t, b.allow(now.Add(400*time.Millisecond)), "0.8 tokens are not one")
	assert.True(t, b.allow(now.Add(500*time.Millisecond)), "two per second: one after half a second")
	assert.False(t, b.allow(now.Add(500*time.Millisecond)))
	assert.True(t, b.allow(now.Add(time.Hour)), "refilled")
	for i := 0; i < 4; i++ {
		assert.True(t, b.allow(now.Add(time.Hour)))
	}
	assert.False(t, b.allow(now.Add(time.Hour)), "never more than the burst")
}
