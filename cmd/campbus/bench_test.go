package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
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
		{"an unknown baseline", []string{"--baseline", "pigeon", "--nats-url", "nats://127.0.0.1:4222"}},
		{"a baseline without a nats-server", []string{"--baseline", "core"}},
		{"a baseline with an embedded server", []string{"--embedded", "--baseline", "core", "--nats-url", "nats://127.0.0.1:4222"}},
		{"a nats-server without a baseline", []string{"--nats-url", "nats://127.0.0.1:4222"}},
		{"serve with no profile to write", []string{"serve", "--addr", "127.0.0.1:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runBenchForTest(t, tt.args...)
			require.Error(t, err)
		})
	}
}

func TestBenchBaselineAgainstANATSServerMeasuresItsCPU(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	require.NoError(t, err)
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	require.True(t, ns.ReadyForConnections(10*time.Second))

	stdout, stderr, err := runBenchForTest(t, "--baseline", "jetstream", "--nats-url", ns.ClientURL(),
		"--groups", "2", "--messages", "4", "--in-flight", "2", "--server-pid", strconv.Itoa(os.Getpid()), "--json", "--progress", "0")
	require.NoError(t, err, "stderr: %s", stderr)
	var res bench.Result
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), "stdout is one JSON object: %s", stdout)
	assert.True(t, res.Verify.OK, "problems: %v", res.Verify.Problems)
	assert.Equal(t, "jetstream", res.Config.Baseline)
	assert.EqualValues(t, 32, res.Send.Accepted)
	assert.EqualValues(t, 96, res.Send.Delivered)
	require.NotNil(t, res.Send.ServerCPU)
	assert.Contains(t, res.Send.ServerCPU.Scope, strconv.Itoa(os.Getpid()))

	stdout, stderr, err = runBenchForTest(t, "--baseline", "core", "--nats-url", ns.ClientURL(),
		"--groups", "1", "--messages", "3", "--progress", "0")
	require.NoError(t, err, "stderr: %s", stderr)
	assert.Contains(t, stdout, "baseline core (core NATS")
	assert.Contains(t, stdout, "verified: OK: 36 of 36 deliveries to 4 receivers in 1 groups")
}

func TestBenchServeRunsTheServerUnderAProfileUntilStopped(t *testing.T) {
	dir := t.TempDir()
	prof, heap := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "heap.prof")
	ctx, stop := context.WithTimeout(context.Background(), benchTestTimeout)
	defer stop()
	var log syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"bench", "--cpuprofile", prof, "--memprofile", heap, "serve", "--addr", "127.0.0.1:0",
			"--nats-addr", "", "--monitor-addr", "", "--web-addr", "", "--data-dir", filepath.Join(dir, "data")},
			nil, io.Discard, &log)
	}()
	waitForOutput(t, &log, "campbus serving")
	stop() // SIGINT, as far as serve can tell
	require.NoError(t, <-done)
	for _, p := range []string{prof, heap} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Positive(t, st.Size(), p)
	}
}
