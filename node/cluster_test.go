package node

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/wire"
)

// startCluster starts size nodes (n1, n2, ...) that route to each other on
// free loopback ports, with streams replicated min(3, size) times; tune
// changes each node's options before it starts.
func startCluster(t *testing.T, size int, tune ...func(*Options)) []*Node {
	t.Helper()
	addrs := routeAddrs(t, size)
	began := time.Now()
	nodes := make([]*Node, size)
	errs := make([]error, size)
	var wg sync.WaitGroup
	for i := range nodes {
		var routes []string
		for j, a := range addrs {
			if j != i {
				routes = append(routes, "nats://"+a)
			}
		}
		opts := Options{
			Name: fmt.Sprintf("n%d", i+1), Addr: "127.0.0.1:0", DataDir: t.TempDir(),
			ClusterAddr: addrs[i], Routes: routes, Logger: quietLogger(),
		}
		for _, f := range tune {
			f(&opts)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = startClustered(opts)
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		shutdownAll(nodes)
	})
	for i := range nodes {
		require.NoError(t, errs[i], "node n%d", i+1)
	}
	t.Logf("cluster of %d up in %v", size, time.Since(began).Round(time.Millisecond))
	return nodes
}

// shutdownAll shuts the running nodes down all at once: a node shutting
// down checks its campers out, which needs a quorum of the others still up.
func shutdownAll(nodes []*Node) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n != nil && n.front != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = n.Shutdown(ctx)
			}()
		}
	}
	wg.Wait()
}

// startClustered starts one node of a cluster, allowing for the election
// of the cluster's leaders.
func startClustered(opts Options) (*Node, error) {
	// A loaded machine can take a while to elect the first leaders.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return Start(ctx, opts)
}

func TestAClusterIsOneCamp(t *testing.T) {
	ns := startCluster(t, 3)
	// One group spread over the three nodes.
	j1 := dial(t, ns[0])
	assert.Equal(t, 1, j1.checkin("J001"))
	j2 := dial(t, ns[1])
	assert.Equal(t, 1, j2.checkin("J002"))
	assert.Equal(t, "J002", j1.expect(campbus.EventJoin).CampID)
	j3 := dial(t, ns[2])
	var r campbus.CheckinResponse
	j3.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J003"}, &r)
	assert.Equal(t, []string{"J001", "J002", "J003"}, r.Members)
	j3.id = "J003"
	for _, c := range []*camper{j1, j2} {
		assert.Equal(t, []string{"J001", "J002", "J003"}, c.expect(campbus.EventJoin).Members)
	}

	// A campId checked in on n1 cannot check in on n2.
	dial(t, ns[1]).fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001"}, 409, campbus.CodeCampIDInUse)

	// A session hosted on n2; messages from n1 and n3 reach everyone else,
	// and every member sees them in one order.
	j2.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 40}, nil)
	j1.expect(campbus.EventPeerSession)
	j3.expect(campbus.EventPeerSession)
	var wg sync.WaitGroup
	for _, c := range []*camper{j1, j3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 10; k++ {
				c.request(campbus.CmdMessage, map[string]string{"text": fmt.Sprint(c.id, "-", k)})
			}
		}()
	}
	wg.Wait()
	for _, c := range []*camper{j1, j3} {
		for k := 0; k < 10; k++ {
			require.Equal(t, 200, c.response().Status)
		}
	}
	seen := func(c *camper, n int) []int {
		var seqs []int
		for k := 0; k < n; k++ {
			seqs = append(seqs, c.expect(campbus.EventMessage).Seq)
		}
		return seqs
	}
	all := seen(j2, 20)
	assert.True(t, sort.IntsAreSorted(all), "the host on n2 sees seqs in order: %v", all)
	assert.True(t, sort.IntsAreSorted(seen(j1, 10)), "n1 sees n3's messages in order")
	assert.True(t, sort.IntsAreSorted(seen(j3, 10)), "n3 sees n1's messages in order")

	// A direct from n3 reaches n1.
	j3.ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J001", Text: "across"}, nil)
	assert.Equal(t, "across", j1.expect(campbus.EventDirect).Text)

	// Every node finds the campers bucket's leader in touch with its
	// replicas, which is what a node back from a spell out of sight waits
	// for before it believes the leader; nobody is in touch within a
	// nanosecond.
	for _, n := range ns {
		assert.EventuallyWithT(t, func(c *assert.CollectT) {
			assert.NoError(c, n.handlers.CampersLeaderInTouch(t.Context(), leaderInTouch))
		}, waitFor, 100*time.Millisecond, "node %s", n.opts.Name)
		assert.ErrorContains(t, n.handlers.CampersLeaderInTouch(t.Context(), time.Nanosecond), "heard from 1 of its 3 replicas")
	}
}

func TestConcurrentRequestsOnDifferentNodesKeepTheInvariants(t *testing.T) {
	ns := startCluster(t, 3)
	const campers = 24
	cs := make([]*camper, campers)
	for i := range cs {
		cs[i] = dial(t, ns[i%3])
	}
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.request(campbus.CmdCheckin, campbus.CheckinRequest{CampID: fmt.Sprintf("J%03d", i+1)})
		}()
	}
	wg.Wait()
	byGroup := map[int][]*camper{}
	for i, c := range cs {
		var r campbus.CheckinResponse
		f := c.response()
		require.Equal(t, 200, f.Status, "%s", f.Body)
		require.NoError(t, json.Unmarshal(f.Body, &r))
		c.id = fmt.Sprintf("J%03d", i+1)
		byGroup[r.Group] = append(byGroup[r.Group], c)
	}
	sizes := map[int]int{}
	for g, members := range byGroup {
		sizes[g] = len(members)
	}
	assert.Equal(t, map[int]int{1: 4, 2: 4, 3: 4, 4: 4, 5: 4, 6: 4}, sizes, "six full groups, never a fifth member")

	// Group 1's members, wherever they are, race messages at maxCount 10.
	g := byGroup[1]
	for _, c := range g {
		for len(c.events) > 0 {
			<-c.events
		}
	}
	g[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 10}, nil)
	for _, c := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 5; k++ {
				c.request(campbus.CmdMessage, map[string]string{"text": "race"})
			}
		}()
	}
	wg.Wait()
	accepted := 0
	for _, c := range g {
		for k := 0; k < 5; k++ {
			if c.response().Status == 200 {
				accepted++
			}
		}
	}
	assert.Equal(t, 10, accepted, "exactly maxCount messages accepted across nodes")
}

func TestALostNodesCampersAreCheckedOutEverywhere(t *testing.T) {
	ns := startCluster(t, 3)
	host := dial(t, ns[2]) // on the node that will die
	host.checkin("J001")
	a := dial(t, ns[0])
	a.checkin("J002")
	host.expect(campbus.EventJoin)
	b := dial(t, ns[1])
	b.checkin("J003")
	host.expect(campbus.EventJoin)
	a.expect(campbus.EventJoin)
	host.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 5}, nil)
	a.expect(campbus.EventPeerSession)
	b.expect(campbus.EventPeerSession)

	lost := time.Now()
	crash(t, ns[2])
	for _, c := range []*camper{a, b} {
		ended := c.expect(campbus.EventComplete)
		assert.Equal(t, campbus.ReasonHostLeft, ended.Reason)
		left := c.expect(campbus.EventCheckout)
		assert.Equal(t, "J001", left.CampID)
		assert.Equal(t, campbus.ReasonDisconnect, left.Reason)
	}
	took := time.Since(lost)
	t.Logf("the lost node's camper was checked out everywhere %v after the crash", took.Round(time.Millisecond))
	assert.Less(t, took, 8*time.Second, "within the node TTL (3 s) plus a sweep")

	// The survivors keep serving, and J001 may check in again elsewhere.
	a.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 1}, nil)
	b.expect(campbus.EventPeerSession)
	again := dial(t, ns[1])
	assert.Equal(t, 1, again.checkin("J001"))
	a.expect(campbus.EventJoin)
	b.expect(campbus.EventJoin)

	// The lost node restarts on its data and rejoins the camp.
	back, err := startClustered(ns[2].opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = back.Shutdown(ctx)
	})
	j4 := dial(t, back)
	var r campbus.CheckinResponse
	j4.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J004"}, &r)
	assert.Equal(t, []string{"J002", "J003", "J001", "J004"}, r.Members, "the restarted node sees the one camp")
	a.ok(campbus.CmdMessage, map[string]string{"text": "welcome back"}, nil)
	assert.Equal(t, "welcome back", j4.expect(campbus.EventMessage).Text)
}

// A camper that writes its messages in one burst, on a node of a cluster,
// has them decided in the order it wrote them: NATS gives a client's
// request to any node's handlers, so the session keeps one message on the
// bus at a time there.
func TestACampersBurstOfMessagesKeepsItsOrderInACluster(t *testing.T) {
	ns := startCluster(t, 3)
	a := dial(t, ns[0])
	a.checkin("J001")
	b := dial(t, ns[1])
	b.checkin("J002")
	a.expect(campbus.EventJoin)
	const n = 24
	a.ok(campbus.CmdPeerSession, map[string]int{"maxCount": n}, nil)
	b.expect(campbus.EventPeerSession)

	var burst []byte
	for k := 1; k <= n; k++ {
		burst = wire.AppendRequest(burst, campbus.CmdMessage, fmt.Sprint(k), []byte(fmt.Sprintf(`{"text":"m%02d"}`, k)))
	}
	a.send(string(burst))
	for k := 1; k <= n; k++ {
		f := a.response()
		require.Equal(t, 200, f.Status, "%s", f.Body)
		assert.Equal(t, fmt.Sprint(k), f.Get(wire.FieldRequestID))
		var r campbus.MessageResponse
		require.NoError(t, json.Unmarshal(f.Body, &r))
		assert.Equal(t, k, r.Seq, "message %d counted in the order written", k)
	}
	for k := 1; k <= n; k++ {
		assert.Equal(t, fmt.Sprintf("m%02d", k), b.expect(campbus.EventMessage).Text)
	}
}

// A camper whose connection ends right after its checkin is checked out
// every time: another connection, on another node, gets the id soon after.
func TestACamperGoneRightAfterItsCheckinIsCheckedOut(t *testing.T) {
	ns := startCluster(t, 3)
	for i := range 30 {
		id := fmt.Sprintf("J%03d", i+1)
		c := dial(t, ns[i%3])
		c.checkin(id)
		require.NoError(t, c.conn.Close())
		again := dial(t, ns[(i+1)%3])
		require.Eventually(t, func() bool {
			return again.do(campbus.CmdCheckin, campbus.CheckinRequest{CampID: id}).Status == 200
		}, waitFor, 50*time.Millisecond, "%s checks in again on another node after its connection ended", id)
		require.NoError(t, again.conn.Close())
	}
}
