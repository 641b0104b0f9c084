package node

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// logBuffer is a log a test reads while the node writes it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if os.Getenv("CAMPBUS_TEST_LOG") != "" {
		os.Stderr.Write(p)
	}
	return b.buf.Write(p)
}

// count returns how many lines hold s.
func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func (b *logBuffer) text() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Writer(b), nil))
}

// smallLog is a node whose event log fills after a few hundred messages.
func smallLog(dataDir string, log *slog.Logger) Options {
	return Options{
		DataDir:          dataDir,
		NATSAddr:         "127.0.0.1:0",
		MonitorAddr:      "127.0.0.1:0",
		OperatorPassword: "op-secret",
		Log:              bus.StreamOptions{MaxStore: bus.MinMaxStore},
		StoreCheck:       20 * time.Millisecond,
		Logger:           log,
	}
}

// fillLog sends 900-byte messages from c until one is refused, and returns
// how many were accepted. Every refusal must be 507 storage-full.
func fillLog(t *testing.T, c *camper) int {
	t.Helper()
	text := map[string]string{"text": strings.Repeat("x", 900)}
	for sent := 0; sent < 5000; sent++ {
		f := c.do(campbus.CmdMessage, text)
		if f.Status != 200 {
			requireError(t, f, 507, campbus.CodeStorageFull)
			return sent
		}
	}
	require.FailNow(t, "the log never filled")
	return 0
}

// skipTo reads c's events up to the first of type typ.
func skipTo(c *camper, typ string) campbus.Event {
	c.t.Helper()
	for {
		if ev := c.event(); ev.Type == typ {
			return ev
		}
	}
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNow(t, "timed out waiting until "+what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// operatorJetStream connects to n's NATS port as the operator, as a person
// with the nats CLI would; done closes the connection.
func operatorJetStream(t *testing.T, n *Node) (jetstream.JetStream, context.Context, func()) {
	t.Helper()
	nc, err := nats.Connect(n.NATSURL(), nats.UserInfo(bus.OperatorUser, "op-secret"))
	require.NoError(t, err)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	return js, ctx, func() { cancel(); nc.Close() }
}

// purgeGroup keeps the last keep events of group n, as an operator would
// with `nats stream purge GROUPS --subject log.group.<n> --keep <keep>`.
func purgeGroup(t *testing.T, n *Node, group, keep int) {
	t.Helper()
	js, ctx, done := operatorJetStream(t, n)
	defer done()
	st, err := js.Stream(ctx, bus.GroupsStream)
	require.NoError(t, err)
	require.NoError(t, st.Purge(ctx, jetstream.WithPurgeSubject(bus.LogGroupSubject(group)), jetstream.WithPurgeKeep(uint64(keep))))
}

// campersHeld lists the campIds the campers bucket holds.
func campersHeld(t *testing.T, n *Node) []string {
	t.Helper()
	js, ctx, done := operatorJetStream(t, n)
	defer done()
	kv, err := js.KeyValue(ctx, bus.CampersBucket)
	require.NoError(t, err)
	lister, err := kv.ListKeys(ctx)
	require.NoError(t, err)
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	return keys
}

func TestAFullLogRefusesWritesKeepsReadsAndRecoversWithoutARestart(t *testing.T) {
	var log logBuffer
	n := startNode(t, smallLog(t.TempDir(), log.logger()))
	base := "http://" + n.MonitorAddr().String()
	cs := group(t, n, "J001", "J002")
	startSession(t, cs, 10000)

	sent := fillLog(t, cs[0])
	t.Logf("%d messages of 900 bytes filled a budget of %d bytes", sent, bus.MinMaxStore)
	assert.Greater(t, sent, 100, "the budget holds a few hundred messages")

	// Every write that adds to the log is refused; reads are served.
	cs[1].fails(campbus.CmdMessage, map[string]string{"text": "hi"}, 507, campbus.CodeStorageFull)
	cs[1].fails(campbus.CmdDirect, map[string]string{"campId": "J001", "text": "hi"}, 507, campbus.CodeStorageFull)
	dial(t, n).fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J003"}, 507, campbus.CodeStorageFull)
	cs[1].ok(campbus.CmdMission, map[string]int{"day": 4}, nil)
	cs[1].ok(campbus.CmdHistory, map[string]int{"limit": 5}, nil)
	// A field error still comes before the refusal.
	cs[1].fails(campbus.CmdMessage, map[string]string{}, 400, campbus.CodeBadRequest)

	status, body := get(t, base+"/healthz")
	assert.Equal(t, 503, status)
	assert.Contains(t, body, "full")
	_, metrics := get(t, base+"/metrics")
	assert.Contains(t, metrics, "campbus_store_full 1\n")
	assert.Contains(t, metrics, "campbus_store_budget_bytes 1.048576e+06\n")
	assert.Equal(t, 1, log.count("event log full"), "one line when the spell starts, not one per request")
	assert.Zero(t, log.count("handler failed"), "a full log is no internal error")

	// An operator makes room: the group keeps its last 10 events.
	purgeGroup(t, n, 1, 10)
	start := time.Now()
	eventually(t, "a message goes through again", func() bool {
		return cs[0].do(campbus.CmdMessage, map[string]string{"text": "room again"}).Status == 200
	})
	t.Logf("writes accepted again %v after the purge", time.Since(start).Round(time.Millisecond))
	status, _ = get(t, base+"/healthz")
	assert.Equal(t, 200, status)
	eventually(t, "the end of the spell is logged", func() bool { return log.count("event log has room again") == 1 })
	assert.Equal(t, 1, log.count("event log full"))
	_, metrics = get(t, base+"/metrics")
	assert.Contains(t, metrics, "campbus_store_full 0\n")
	// The group's state survived the purge: its session runs on.
	cs[1].ok(campbus.CmdMessage, map[string]string{"text": "still here"}, nil)
	dial(t, n).checkin("J003")
}

func TestCheckoutsSucceedWhileTheLogIsFullAndARestartStartsClean(t *testing.T) {
	dir := t.TempDir()
	var log logBuffer
	opts := smallLog(dir, log.logger())
	n := startNode(t, opts)
	cs := group(t, n, "J001", "J002", "J003", "J004")
	startSession(t, cs, 10000)
	fillLog(t, cs[0])

	// The headroom above the high-water mark is for the writes that end
	// things: a checkout, and the end of a session its host leaves.
	var out campbus.CheckoutResponse
	cs[0].ok(campbus.CmdCheckout, nil, &out)
	assert.Equal(t, 1, out.Group)
	for _, c := range cs[1:] {
		skipTo(c, campbus.EventComplete)
		assert.Equal(t, "J001", c.expect(campbus.EventCheckout).CampID)
	}

	// Shut down while full, with three campers checked in.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
	assert.Zero(t, log.count("handler failed"), "every checkout at shutdown went through")

	// The same data dir starts again, with nobody checked in.
	opts.Logger = quietLogger()
	again := startNode(t, opts)
	groups, sessions := again.handlers.GroupCounts()
	assert.Zero(t, groups, "no group has a member")
	assert.Zero(t, sessions)
	keys := campersHeld(t, again)
	assert.Empty(t, keys, "nobody is left checked in")
	// Still full after the restart; with room, the ids are free and group 1
	// is empty.
	dial(t, again).fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J002"}, 507, campbus.CodeStorageFull)
	purgeGroup(t, again, 1, 10)
	var in campbus.CheckinResponse
	eventually(t, "the log has room", func() bool { return !again.handlers.StoreUsage().Full })
	dial(t, again).ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J002"}, &in)
	assert.Equal(t, campbus.CheckinResponse{CampID: "J002", Group: 1, Members: []string{"J002"}, Offset: in.Offset, Epoch: again.Epoch()}, in,
		"J002's id is free and group 1 is empty")
}

func TestABudgetUnderTheMinimumIsRefusedWithOneClearLine(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(context.Background(), Options{
		Addr: "127.0.0.1:0", DataDir: dir, Logger: quietLogger(),
		Log: bus.StreamOptions{MaxStore: bus.MinMaxStore - 1},
	})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"--max-store", "--data-dir " + dir, "bytes free", "1048576"} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "\n", "one line")
}

func TestARaisedBudgetMakesRoomWithoutARestart(t *testing.T) {
	var log logBuffer
	n := startNode(t, smallLog(t.TempDir(), log.logger()))
	cs := group(t, n, "J001")
	startSession(t, cs, 10000)
	fillLog(t, cs[0])

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, n.SetMaxStore(ctx, 2*bus.MinMaxStore))
	eventually(t, "a message goes through again", func() bool {
		return cs[0].do(campbus.CmdMessage, map[string]string{"text": "room again"}).Status == 200
	})
	assert.Equal(t, int64(2*bus.MinMaxStore), n.handlers.StoreUsage().Budget)
	assert.Equal(t, 1, log.count("event log budget raised"))
	sent := fillLog(t, cs[0])
	t.Logf("the raised budget took %d more messages", sent)
	assert.Greater(t, sent, 100)
}

func TestADefaultBudgetGrowsWhenTheDiskHasMoreRoom(t *testing.T) {
	var log logBuffer
	var size atomic.Int64
	size.Store(2 * bus.MinMaxStore) // a 2 MiB disk: the budget is 1 MiB
	opts := smallLog(t.TempDir(), log.logger())
	opts.Log.MaxStore = 0
	// What the log writes is no longer free.
	opts.freeBytes = func(dir string) (int64, error) { return size.Load() - dirBytes(dir), nil }
	n := startNode(t, opts)
	budget := n.handlers.StoreUsage().Budget
	require.Equal(t, int64(bus.MinMaxStore), budget)
	cs := group(t, n, "J001")
	startSession(t, cs, 10000)
	fillLog(t, cs[0])

	assert.Zero(t, log.count("event log budget raised"), "the log filling its disk is no more room")
	// The operator grows the filesystem to 64 MiB.
	size.Store(64 << 20)
	start := time.Now()
	eventually(t, "a message goes through again", func() bool {
		return cs[0].do(campbus.CmdMessage, map[string]string{"text": "room again"}).Status == 200
	})
	t.Logf("writes accepted again %v after the disk grew", time.Since(start).Round(time.Millisecond))
	assert.Equal(t, 1, log.count("event log budget raised"), "%s", log.text())
	assert.Greater(t, n.handlers.StoreUsage().Budget, int64(30<<20))
}

func TestJetStreamThatStoppedItselfIsRestarted(t *testing.T) {
	var log logBuffer
	n := startNode(t, smallLog(t.TempDir(), log.logger()))
	base := "http://" + n.MonitorAddr().String()
	cs := group(t, n, "J001", "J002")
	startSession(t, cs, 10000)
	cs[0].ok(campbus.CmdMessage, map[string]string{"text": "before"}, nil)
	cs[1].expect(campbus.EventMessage)

	// As JetStream does after a write it could not make.
	require.NoError(t, n.bus.Server().ShutdownJetStream())
	eventually(t, "JetStream runs again", func() bool { return log.count("JetStream runs again") == 1 })
	eventually(t, "the node is healthy", func() bool { s, _ := get(t, base+"/healthz"); return s == 200 })
	cs[0].ok(campbus.CmdMessage, map[string]string{"text": "after"}, nil)
	assert.Equal(t, "after", cs[1].expect(campbus.EventMessage).Text)
	assert.Equal(t, 1, log.count("JetStream stopped"))
}
