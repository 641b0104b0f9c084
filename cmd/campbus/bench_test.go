package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus/bench"
)

// benchTestTimeout bounds a tiny bench, embedded server included.
const benchTestTimeout = 60 * time.Second

func runBenchForTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchTestTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	err = run(ctx, append([]string{"bench"}, args...), nil, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestBenchEmbeddedTinyRunVerifiesEveryDeliveryAndPrintsTheTable(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	stdout, stderr, err := runBenchForTest(t, "--embedded", "--groups", "2", "--messages", "5", "--progress", "0")
	require.NoError(t, err, "stderr: %s", stderr)
	assert.Contains(t, stdout, "8 campers in 2 groups of 4")
	assert.Contains(t, stdout, "verified: OK: 120 of 120 deliveries to 8 receivers in 2 groups")
	assert.Contains(t, stdout, "(2 of 2 full sessions refused one more with limit-reached)")
	assert.Contains(t, stdout, "errors: none")
	assert.Empty(t, stderr, "no progress line was asked for")
}

func TestBenchJSONCarriesTheMeasuresAndTheVerdict(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	stdout, _, err := runBenchForTest(t, "--embedded", "--groups", "2", "--messages", "3",
		"--in-flight", "2", "--transport", "client", "--json", "--progress", "0")
	require.NoError(t, err)
	var res bench.Result
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), "stdout is one JSON object: %s", stdout)
	assert.True(t, res.Verify.OK, "problems: %v", res.Verify.Problems)
	assert.Equal(t, 8, res.Checkin.Count)
	assert.Equal(t, 2, res.Sessions)
	assert.EqualValues(t, 24, res.Send.Accepted, "2 groups × 4 campers × 3 messages")
	assert.EqualValues(t, 72, res.Send.Delivered, "each to the 3 others")
	assert.EqualValues(t, 72, res.Latency.Samples)
	assert.Equal(t, 8, res.Checkout.Count)
	require.NotNil(t, res.Footprint, "an embedded server is probed")
	assert.Zero(t, res.Footprint.AfterLeave.Conns, "every connection closed after checkout")
}

func TestBenchRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"a session over 10000 messages", []string{"--embedded", "--messages", "2501"}},
		{"more campers than camp ids", []string{"--embedded", "--groups", "97"}},
		{"a camp id range that does not parse", []string{"--camp-ids", "J1-K2"}},
		{"an unknown transport", []string{"--embedded", "--transport", "pigeon"}},
		{"a server pid with an embedded server", []string{"--embedded", "--server-pid", "1"}},
		{"a stray argument", []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runBenchForTest(t, tt.args...)
			require.Error(t, err)
		})
	}
}
