package bench

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startNATSServer starts a nats-server with JetStream on a random loopback
// port, its store in a temporary directory, as the baselines' tests' server.
func startNATSServer(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	require.NoError(t, err)
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	require.True(t, ns.ReadyForConnections(10*time.Second), "nats-server ready")
	return ns
}

func baselineConfig(ns *server.Server, baseline string) Config {
	cfg := tinyConfig("")
	cfg.Baseline, cfg.NATSURL = baseline, ns.ClientURL()
	cfg.InFlight = 3
	// The server runs in this process: its CPU is the test's, bench and all.
	cfg.Probe = ProcessProbe{PID: os.Getpid()}
	return cfg
}

func TestBaselinesDeliverEveryMessageToEveryOtherMemberInOrder(t *testing.T) {
	for _, baseline := range []string{BaselineJetStream, BaselineCore} {
		t.Run(baseline, func(t *testing.T) {
			ns := startNATSServer(t)
			res := runTest(t, baselineConfig(ns, baseline))

			assert.True(t, res.Verify.OK, "problems: %v", res.Verify.Problems)
			assert.Equal(t, baseline, res.Config.Baseline)
			assert.Equal(t, ns.ClientURL(), res.Config.Addr)
			require.NotNil(t, res.Connect)
			assert.Equal(t, 8, res.Connect.Count)
			assert.Zero(t, res.Checkin.Count, "nobody checks in to a nats-server")
			assert.Equal(t, 2, res.Groups)
			assert.EqualValues(t, 40, res.Send.Accepted, "2 groups × 4 campers × 5 messages")
			assert.Positive(t, res.Send.AcceptedPerSec)
			assert.EqualValues(t, 120, res.Send.Delivered, "each to the 3 others, none back to its sender")
			assert.EqualValues(t, 120, res.Verify.Expected)
			assert.Equal(t, 2, res.Verify.Groups)
			assert.Equal(t, 8, res.Verify.Receivers)
			assert.Empty(t, res.Errors)
			assert.EqualValues(t, 120, res.Latency.Samples)
			assert.EqualValues(t, 40, res.ResponseLatency.Samples)
			assert.Positive(t, res.Latency.P50)
			assert.LessOrEqual(t, res.Latency.P50, res.Latency.P99)
			assert.Equal(t, LimitProbes{}, res.LimitProbes, "no session, nothing to probe")

			require.NotNil(t, res.Send.ServerCPU, "a process probe measures the nats-server's CPU")
			require.NotNil(t, res.Footprint)
			assert.Positive(t, res.Footprint.CheckedIn.RSSBytes)

			var table strings.Builder
			require.NoError(t, res.WriteTable(&table))
			assert.Contains(t, table.String(), "baseline "+baseline+" (")
			assert.Contains(t, table.String(), "verified: OK: 120 of 120 deliveries to 8 receivers in 2 groups")
			assert.Contains(t, table.String(), "µs per accepted message")
			assert.NotContains(t, table.String(), "checkins")
		})
	}
}

func TestJetStreamBaselineLeavesNoStreamBehind(t *testing.T) {
	ns := startNATSServer(t)
	cfg := baselineConfig(ns, BaselineJetStream)
	cfg.Groups, cfg.Messages = 1, 2
	for range 2 { // the second run finds the server as the first found it
		res := runTest(t, cfg)
		assert.True(t, res.Verify.OK, "problems: %v", res.Verify.Problems)
	}
	js, err := ns.Jsz(nil)
	require.NoError(t, err)
	assert.Zero(t, js.Streams, "the baseline's stream is deleted when done")
}

func TestBaselineFailsWhenNoServerListens(t *testing.T) {
	for _, baseline := range []string{BaselineJetStream, BaselineCore} {
		cfg := tinyConfig("")
		cfg.Baseline, cfg.NATSURL = baseline, "nats://127.0.0.1:1"
		_, err := Run(t.Context(), cfg)
		require.Error(t, err, baseline)
	}
}

func TestValidateBaselines(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Baseline, cfg.NATSURL = BaselineCore, "nats://127.0.0.1:4222"
	cfg.Groups, cfg.Messages = 1000, 5000
	assert.NoError(t, cfg.Validate(), "neither camp ids nor a session's maxCount bound a baseline")

	cfg.Baseline = "pigeon"
	assert.Error(t, cfg.Validate())
	cfg.Baseline, cfg.NATSURL = BaselineJetStream, ""
	assert.Error(t, cfg.Validate(), "a baseline needs a nats-server")
}

func TestCoreBaselineChecksEachSendersOrder(t *testing.T) {
	g := &group{n: 1, session: true}
	r := &run{cfg: Config{Baseline: BaselineCore, Size: 64}, start: time.Now()}
	sender, receiver := newCamper(r, 0, "a"), newCamper(r, 1, "b")
	r.campers = []*camper{sender, receiver}
	receiver.group.Store(g)
	text := func(num int) string { return string(sender.appendText(nil, 0, num)) }
	for _, num := range []int{0, 1, 3, 2, 4} {
		receiver.onMessage(&event{Group: 1, Text: text(num)})
	}
	assert.Equal(t, 1, receiver.rx.outOfOrder, "2 after 3")
	assert.EqualValues(t, 5, receiver.rx.count.Load())
	assert.Zero(t, receiver.rx.overLimit, "no maxCount, no limit")
}
