package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/liveness"
	"github.com/campbus/campbus/session"
)

// linkProxy forwards the TCP connections it accepts to target, until it is
// cut: then it closes those it carries and every new one at once, as a
// network that drops the link would look to both ends.
type linkProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newLinkProxy(t *testing.T, target string) *linkProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &linkProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *linkProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *linkProxy) serve() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			in.Close()
			continue
		}
		p.conns[in] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.carry(in)
	}
}

func (p *linkProxy) carry(in net.Conn) {
	defer p.wg.Done()
	defer p.forget(in)
	out, err := net.DialTimeout("tcp", p.target, time.Second)
	if err != nil {
		return
	}
	if !p.track(out) {
		return
	}
	defer p.forget(out)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(out, in); done <- struct{}{} }()
	go func() { _, _ = io.Copy(in, out); done <- struct{}{} }()
	<-done
	in.Close()
	out.Close()
	<-done
}

func (p *linkProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *linkProxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *linkProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *linkProxy) close() {
	p.ln.Close()
	p.setCut(true)
	p.wg.Wait()
}

// faultyCluster is a cluster whose nodes route to each other only through
// link proxies, one for each ordered pair of nodes, so that a test can cut
// a node off from the others and heal it; and whose nodes a test can kill
// (no checkout, no goodbye) and restart on their data.
type faultyCluster struct {
	t     *testing.T
	nodes []*Node
	opts  []Options
	links map[[2]int]*linkProxy // [from, to]
}

func startFaultyCluster(t *testing.T, size int, tune ...func(*Options)) *faultyCluster {
	t.Helper()
	addrs := routeAddrs(t, size)
	// Every node advertises a sink that closes what it accepts: a route a
	// node learns of from another (gossip) fails, and every route goes
	// through the proxies.
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() {
		for {
			c, err := sink.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { sink.Close() })

	c := &faultyCluster{t: t, nodes: make([]*Node, size), opts: make([]Options, size), links: map[[2]int]*linkProxy{}}
	for i := range size {
		var routes []string
		for j := range size {
			if j != i {
				p := newLinkProxy(t, addrs[j])
				c.links[[2]int{i, j}] = p
				routes = append(routes, p.url())
			}
		}
		c.opts[i] = Options{
			Name: fmt.Sprintf("n%d", i+1), Addr: "127.0.0.1:0", DataDir: t.TempDir(),
			ClusterAddr: addrs[i], ClusterAdvertise: sink.Addr().String(), Routes: routes,
			Logger: quietLogger(),
		}
		for _, f := range tune {
			f(&c.opts[i])
		}
	}
	errs := make([]error, size)
	var wg sync.WaitGroup
	for i := range size {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.nodes[i], errs[i] = startClustered(c.opts[i])
		}()
	}
	wg.Wait()
	t.Cleanup(c.shutdown)
	for i := range size {
		require.NoError(t, errs[i], "node n%d", i+1)
	}
	return c
}

func (c *faultyCluster) shutdown() { shutdownAll(c.nodes) }

// partition cuts node k off from every other node, or heals it.
func (c *faultyCluster) partition(k int, cut bool) {
	for pair, p := range c.links {
		if pair[0] == k || pair[1] == k {
			p.setCut(cut)
		}
	}
}

// cutLink cuts the link between nodes i and j alone, both ways, or heals it.
func (c *faultyCluster) cutLink(i, j int, cut bool) {
	c.links[[2]int{i, j}].setCut(cut)
	c.links[[2]int{j, i}].setCut(cut)
}

// kill stops node k at once: its bus goes first, so nothing it does after
// reaches the others (no checkout, no last heartbeat).
func (c *faultyCluster) kill(k int) {
	crash(c.t, c.nodes[k])
	c.nodes[k] = nil
}

func (c *faultyCluster) restart(k int) {
	c.t.Helper()
	n, err := startClustered(c.opts[k])
	require.NoError(c.t, err, "restart n%d", k+1)
	c.nodes[k] = n
}

// live returns a running node other than the ones named.
func (c *faultyCluster) live(except ...int) *Node {
	for i, n := range c.nodes {
		if n != nil && !slices.Contains(except, i) {
			return n
		}
	}
	c.t.Fatal("no live node")
	return nil
}

// index returns the index of the node named name.
func (c *faultyCluster) index(name string) int {
	for i, o := range c.opts {
		if o.Name == name {
			return i
		}
	}
	c.t.Fatalf("no node %q", name)
	return -1
}

// assets are the replicated streams campbus keeps, by stream name.
var assets = replicatedStreams

// leaders returns the node leading each asset, as a live node sees it.
func (c *faultyCluster) leaders() map[string]string {
	c.t.Helper()
	js, err := jetstream.New(c.live().handlerNC)
	require.NoError(c.t, err)
	out := map[string]string{}
	require.Eventually(c.t, func() bool {
		for _, a := range assets {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := js.Stream(ctx, a)
			cancel()
			if err != nil || st.CachedInfo().Cluster == nil || st.CachedInfo().Cluster.Leader == "" {
				return false
			}
			out[a] = st.CachedInfo().Cluster.Leader
		}
		return true
	}, 30*time.Second, 200*time.Millisecond, "every asset has a leader")
	return out
}

// moveLeadersOff asks every asset led by node k to elect another leader.
func (c *faultyCluster) moveLeadersOff(k int) {
	c.t.Helper()
	name := c.opts[k].Name
	require.Eventually(c.t, func() bool {
		moved := true
		for a, leader := range c.leaders() {
			if leader == name {
				moved = false
				_ = c.nodes[k].bus.Server().JetStreamStepdownStream("$G", a)
			}
		}
		return moved
	}, 60*time.Second, time.Second, "n%d leads no asset", k+1)
}

// awaitCheckout waits until c sees campID leave with reason disconnect,
// skipping other events, and returns how long it took from since.
func awaitCheckout(t *testing.T, c *camper, campID string, since time.Time, within time.Duration) time.Duration {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case f := <-c.events:
			var ev campbus.Event
			require.NoError(t, json.Unmarshal(f.Body, &ev))
			if ev.Type == campbus.EventCheckout {
				require.Equal(t, campID, ev.CampID, "only the lost camper leaves")
				require.Equal(t, campbus.ReasonDisconnect, ev.Reason)
				return time.Since(since)
			}
		case <-deadline:
			require.FailNow(t, "no checkout in time", "waiting for %s to leave", campID)
		}
	}
}

// stillCheckedIn checks that c's checkin holds: a message with no session
// running gets 409 no-session, not 403 not-checked-in. Right after a fault
// GROUPS may still be electing its leader, whose state a refusal is decided
// on: the server then answers 500 or 503 ("may not have taken effect"), which says
// nothing either way, and the question is asked again.
func stillCheckedIn(t *testing.T, c *camper) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		c.request(campbus.CmdMessage, map[string]string{"text": "still here?"})
		f := c.responseWithin(20 * time.Second)
		if (f.Status != 500 && f.Status != 503) || time.Now().After(deadline) {
			requireError(t, f, 409, campbus.CodeNoSession)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkinThroughElection checks c in as id, asking again while the camp
// answers 500 or 503 unavailable: a stream whose leader was on a killed node has none for
// a few seconds. A checkin that took effect although its answer was a 500
// is taken again by the same connection.
func checkinThroughElection(t *testing.T, c *camper, id string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		f := c.do(campbus.CmdCheckin, campbus.CheckinRequest{CampID: id})
		if (f.Status == 500 || f.Status == 503) && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
			continue
		}
		require.Equal(t, 200, f.Status, "checkin %s: %s", id, f.Body)
		c.id = id
		return
	}
}

// checkCampInvariants reads the camp's state through node n and checks:
// no group ever over size and no session over its maxCount in any event's
// state, no camper in two groups, and every checked-in camper's group
// counting it as a member.
func checkCampInvariants(t *testing.T, n *Node, size int) {
	t.Helper()
	type state struct {
		Members []string `json:"members"`
		Session *struct {
			MaxCount int `json:"maxCount"`
			Count    int `json:"count"`
		} `json:"session"`
	}
	// Right after a fault the cluster may still be electing, and a replica
	// read may be a moment behind another: read the log and the bucket
	// until both can be read and agree (a minute at most), checking every
	// event's state on each read.
	var seatedIn map[string]string
	var groupOf map[string]int
	agree := func() bool {
		states, err := readGroupsLog(n)
		if err != nil {
			t.Logf("reading the log: %v; trying again", err)
			return false
		}
		last := map[string]state{}
		for _, m := range states {
			var s state
			require.NoError(t, json.Unmarshal([]byte(m.Header.Get(bus.HdrState)), &s))
			require.LessOrEqual(t, len(s.Members), size, "%s over size: %v", m.Subject, s.Members)
			require.Equal(t, len(s.Members), len(uniq(s.Members)), "%s seats a camper twice: %v", m.Subject, s.Members)
			if s.Session != nil {
				require.LessOrEqual(t, s.Session.Count, s.Session.MaxCount, "%s over maxCount", m.Subject)
			}
			last[m.Subject] = s
		}
		seatedIn = map[string]string{}
		for subject, s := range last {
			for _, id := range s.Members {
				other, twice := seatedIn[id]
				require.False(t, twice, "%s sits in %s and %s", id, other, subject)
				seatedIn[id] = subject
			}
		}
		if groupOf, err = readSeatedCampers(n); err != nil {
			t.Logf("reading the campers: %v; trying again", err)
			return false
		}
		for id, g := range groupOf {
			if bus.LogGroupSubject(g) != seatedIn[id] {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(time.Minute)
	for !agree() && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	require.NotNil(t, groupOf, "the log and the campers bucket could be read")
	for id, g := range groupOf {
		assert.Equal(t, bus.LogGroupSubject(g), seatedIn[id], "%s is checked in, so its group seats it", id)
	}
}

// readSeatedCampers returns the group of every camper the campers bucket
// holds as checked in and seated (not leaving).
func readSeatedCampers(n *Node) (map[string]int, error) {
	js, err := jetstream.New(n.handlerNC)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, bus.CampersBucket)
	if err != nil {
		return nil, err
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for id := range keys.Keys() {
		e, err := kv.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var rec struct {
			Group   int  `json:"group"`
			Leaving bool `json:"leaving"`
		}
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return nil, err
		}
		if rec.Group > 0 && !rec.Leaving {
			out[id] = rec.Group
		}
	}
	return out, nil
}

// readGroupsLog reads every group event of the GROUPS stream through node n, in
// log order, one message at a time by sequence (no consumer to lose track
// of while leaders move).
func readGroupsLog(n *Node) ([]*jetstream.RawStreamMsg, error) {
	js, err := jetstream.New(n.handlerNC)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := js.Stream(ctx, bus.GroupsStream)
	if err != nil {
		return nil, fmt.Errorf("stream info: %w", err)
	}
	state := st.CachedInfo().State
	out := make([]*jetstream.RawStreamMsg, 0, state.Msgs)
	for seq := state.FirstSeq; seq <= state.LastSeq && state.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", seq, err)
		}
		if !strings.HasPrefix(m.Subject, bus.LogPrefix+bus.GroupPrefix) {
			continue // staff's audit trail, kept beside the group events
		}
		out = append(out, m)
	}
	return out, nil
}

func uniq(ids []string) []string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}

func TestAPartitionedNodeIsSweptAndItsCampersToldWhenItHeals(t *testing.T) {
	c := startFaultyCluster(t, 3)
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	a := dial(t, n1)
	a.checkin("J001")
	b := dial(t, n2)
	b.checkin("J002")
	a.expect(campbus.EventJoin)
	cut := dial(t, n3) // on the node that will be cut off
	cut.checkin("J003")
	a.expect(campbus.EventJoin)
	b.expect(campbus.EventJoin)

	began := time.Now()
	c.partition(2, true)
	took := awaitCheckout(t, a, "J003", began, 30*time.Second)
	awaitCheckout(t, b, "J003", began, 5*time.Second)
	t.Logf("the cut-off node's camper was checked out %v after the cut", took.Round(time.Millisecond))
	// The majority's campers are untouched, and J003's id is free there.
	stillCheckedIn(t, a)
	stillCheckedIn(t, b)
	assert.Empty(t, c.nodes[2].liveness.Lost(), "the minority declares nobody lost")
	assert.True(t, slices.Contains(n1.liveness.Lost(), "n3") || slices.Contains(n2.liveness.Lost(), "n3"),
		"the majority declared n3 lost")

	// The cut-off node heals: J003's connection is told and closed, and
	// J003 checks in again. The node checks its campers once its routes
	// are back and its copy of the campers bucket has caught up, which on
	// a busy machine takes longer than an event usually may.
	c.partition(2, false)
	healed := time.Now()
	ev := cut.expectWithin(campbus.EventShutdown, 40*time.Second)
	t.Logf("the cut-off node closed its camper %v after the heal", time.Since(healed).Round(time.Millisecond))
	assert.Equal(t, session.EvictedReason, ev.Reason)
	cut.closed()
	assert.Equal(t, uint64(1), n3.SessionStats().Evicted)
	again := dial(t, n3)
	// The heal may start another election: a request may be answered 503
	// unavailable (or 500) meanwhile.
	for deadline := time.Now().Add(time.Minute); ; {
		again.request(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J003"})
		f := again.responseWithin(20 * time.Second)
		if f.Status == 200 {
			break
		}
		t.Logf("checkin J003 again: %d %s", f.Status, f.Body)
		require.True(t, time.Now().Before(deadline), "J003 checks in again on the healed node")
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("J003 checked in again %v after the heal", time.Since(healed).Round(time.Millisecond))
	again.id = "J003"
	assert.Equal(t, "J003", a.expect(campbus.EventJoin).CampID)
	stillCheckedIn(t, a)
	stillCheckedIn(t, b)
	checkCampInvariants(t, n1, 4)
	t.Logf("the camp's invariants held %v after the heal", time.Since(healed).Round(time.Millisecond))
}

func TestALinkDownBetweenTwoNodesSweepsNobody(t *testing.T) {
	c := startFaultyCluster(t, 3)
	cs := make([]*camper, 3)
	for i, n := range c.nodes {
		cs[i] = dial(t, n)
		cs[i].checkin(fmt.Sprintf("J%03d", i+1))
	}
	// n2 and n3 lose each other; n1 still hears both. Each of them finds
	// the other silent and deaf to its ping, and asks n1, who hears it.
	c.cutLink(1, 2, true)
	for _, n := range c.nodes {
		require.Never(t, func() bool { return len(n.liveness.Lost()) > 0 }, 3*liveness.DefaultTimeout, 100*time.Millisecond,
			"%s declares nobody lost", n.opts.Name)
	}
	var held map[string]int
	require.Eventually(t, func() bool {
		var err error
		held, err = readSeatedCampers(c.nodes[0]) // the cut may have moved a leader
		return err == nil
	}, 30*time.Second, 500*time.Millisecond)
	assert.Len(t, held, 3, "every camper still holds its checkin: %v", held)
	for _, cm := range cs {
		for len(cm.events) > 0 {
			ev := cm.event()
			assert.NotEqual(t, campbus.EventCheckout, ev.Type, "nobody left: %+v", ev)
		}
	}
	c.cutLink(1, 2, false)
	for _, cm := range cs {
		stillCheckedIn(t, cm)
	}
}

func TestKillingANodeReleasesItsCampersAndNobodyElses(t *testing.T) {
	c := startFaultyCluster(t, 3)
	rounds := []struct {
		name string
		// victim picks the node to kill, arranging leaders as the round needs.
		victim func() int
	}{
		{"a node that leads no stream or bucket", func() int {
			c.moveLeadersOff(2)
			return 2
		}},
		{"the leader of the campers bucket", func() int { return c.index(c.leaders()["KV_"+bus.CampersBucket]) }},
		{"the leader of GROUPS", func() int { return c.index(c.leaders()[bus.GroupsStream]) }},
	}
	next := 1
	for _, r := range rounds {
		t.Run(r.name, func(t *testing.T) {
			// The last round's campers were closed as it ended: wait until
			// they are out, so that none of their checkouts reaches this
			// round's campers and is taken for an eviction.
			require.Eventually(t, func() bool {
				for _, n := range c.nodes {
					if n != nil {
						held, err := readSeatedCampers(n)
						return err == nil && len(held) == 0
					}
				}
				return false
			}, 60*time.Second, 200*time.Millisecond, "the campers of the last round are out")
			victim := r.victim()
			leaders := c.leaders()
			// One camper on each node, in one group.
			cs := make([]*camper, len(c.nodes))
			for i, n := range c.nodes {
				cs[i] = dial(t, n)
				cs[i].checkin(fmt.Sprintf("J%03d", next))
				next++
			}
			survivors := slices.DeleteFunc(slices.Clone(cs), func(x *camper) bool { return x == cs[victim] })
			for _, s := range survivors {
				for len(s.events) > 0 {
					<-s.events
				}
			}
			began := time.Now()
			c.kill(victim)
			var took time.Duration
			for _, s := range survivors {
				took = max(took, awaitCheckout(t, s, cs[victim].id, began, 40*time.Second))
			}
			t.Logf("killed n%d (leaders before: %v): its camper checked out everywhere after %v",
				victim+1, leaders, took.Round(time.Millisecond))
			for _, s := range survivors {
				stillCheckedIn(t, s)
			}
			back := dial(t, c.live(victim))
			checkinThroughElection(t, back, cs[victim].id) // the id is free again

			c.restart(victim)
			checkCampInvariants(t, c.live(victim), 4)
		})
		if slices.Contains(c.nodes, nil) {
			// The round failed before its victim came back: bring it back
			// for the next round.
			for k, n := range c.nodes {
				if n == nil {
					c.restart(k)
				}
			}
		}
	}
}

func TestCheckedInCountsLiveCampersOnly(t *testing.T) {
	n := startNode(t, Options{MonitorAddr: "127.0.0.1:0"})
	metric := func() string {
		_, body := get(t, "http://"+n.MonitorAddr().String()+"/metrics")
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "campbus_campers_checked_in ") {
				return line
			}
		}
		return ""
	}
	cs := group(t, n, "J001", "J002", "J003")
	assert.Equal(t, "campbus_campers_checked_in 3", metric())
	cs[0].ok(campbus.CmdCheckout, nil, nil)
	cs[1].conn.Close() // a disconnect
	require.Eventually(t, func() bool { return metric() == "campbus_campers_checked_in 1" },
		waitFor, 50*time.Millisecond, "after a checkout and a disconnect: %s", metric())
	// The same camper in and out again counts once, then not at all.
	again := dial(t, n)
	again.checkin("J001")
	assert.Equal(t, "campbus_campers_checked_in 2", metric())
	again.ok(campbus.CmdCheckout, nil, nil)
	assert.Equal(t, "campbus_campers_checked_in 1", metric())
}
