package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// clusterNode is one `campbus serve` of a cluster started by the test.
type clusterNode struct {
	name string
	cmd  *exec.Cmd
	addr string // campers' TCP address, from its "campbus serving" line

	mu  sync.Mutex
	log []string // its stderr so far
}

func (n *clusterNode) logText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.log, "\n")
}

// freeLoopbackPorts finds n ports free on loopback now, below the
// ephemeral range, for the nodes' routes: each must know the others'
// before any of them starts.
func freeLoopbackPorts(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for tries := 0; len(addrs) < n; tries++ {
		require.Less(t, tries, 1000, "no free port below the ephemeral range")
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		if slices.Contains(addrs, addr) {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		addrs = append(addrs, addr)
	}
	return addrs
}

// startServeCluster starts size `campbus serve` processes that form one
// camp on loopback, each on its own data dir and random campers' port, and
// waits until each serves. The test's end kills what is left of them.
func startServeCluster(t *testing.T, bin string, size int) []*clusterNode {
	t.Helper()
	routes := freeLoopbackPorts(t, size)
	nodes := make([]*clusterNode, size)
	serving := make(chan int, size)
	ended := make(chan int, size)
	for i := range size {
		var others []string
		for j, r := range routes {
			if j != i {
				others = append(others, "nats://"+r)
			}
		}
		n := &clusterNode{name: fmt.Sprintf("n%d", i+1)}
		n.cmd = exec.Command(bin, "serve", "--node-name", n.name,
			"--addr", "127.0.0.1:0", "--web-addr", "", "--nats-addr", "", "--monitor-addr", "",
			"--cluster-addr", routes[i], "--routes", strings.Join(others, ","),
			"--data-dir", t.TempDir(), "--rate", "0")
		stderr, err := n.cmd.StderrPipe()
		require.NoError(t, err)
		require.NoError(t, n.cmd.Start())
		t.Cleanup(func() { _ = n.cmd.Process.Kill(); _ = n.cmd.Wait() })
		nodes[i] = n
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				line := sc.Text()
				n.mu.Lock()
				n.log = append(n.log, line)
				n.mu.Unlock()
				if m := servingAddr.FindStringSubmatch(line); m != nil {
					n.mu.Lock()
					n.addr = m[1]
					n.mu.Unlock()
					serving <- i
				}
			}
			ended <- i
		}()
	}
	deadline := time.After(45 * time.Second)
	for range size {
		select {
		case <-serving:
		case i := <-ended:
			t.Fatalf("%s exited before serving:\n%s", nodes[i].name, nodes[i].logText())
		case <-deadline:
			for _, n := range nodes {
				t.Logf("%s:\n%s", n.name, n.logText())
			}
			t.Fatal("the cluster did not serve within 45 s")
		}
	}
	for _, n := range nodes {
		n.mu.Lock()
		n.addr = strings.TrimSpace(n.addr)
		n.mu.Unlock()
	}
	return nodes
}

// jsonLines reads a `campbus connect --json` stdout, one object a line,
// and lets the test wait for a line that matches.
type jsonLines struct {
	mu      sync.Mutex
	lines   []map[string]any
	raw     []string
	at      []time.Time
	changed chan struct{}
	done    bool
}

func readJSONLines(r io.Reader) *jsonLines {
	jl := &jsonLines{changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var obj map[string]any
			if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
				obj = map[string]any{"kind": "not-json"}
			}
			jl.mu.Lock()
			jl.lines = append(jl.lines, obj)
			jl.raw = append(jl.raw, sc.Text())
			jl.at = append(jl.at, time.Now())
			close(jl.changed)
			jl.changed = make(chan struct{})
			jl.mu.Unlock()
		}
		jl.mu.Lock()
		jl.done = true
		close(jl.changed)
		jl.mu.Unlock()
	}()
	return jl
}

// waitFor waits until a line from index from on matches, and returns its
// index and when it was read.
func (jl *jsonLines) waitFor(t *testing.T, from int, within time.Duration, what string, match func(map[string]any) bool) (int, time.Time) {
	t.Helper()
	deadline := time.After(within)
	for {
		jl.mu.Lock()
		for i := from; i < len(jl.lines); i++ {
			if match(jl.lines[i]) {
				at := jl.at[i]
				jl.mu.Unlock()
				return i, at
			}
		}
		from = len(jl.lines)
		changed, done := jl.changed, jl.done
		jl.mu.Unlock()
		if done {
			t.Fatalf("connect's output ended before %s:\n%s", what, jl.text())
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no %s within %s; connect wrote:\n%s", what, within, jl.text())
		}
	}
}

func (jl *jsonLines) text() string {
	jl.mu.Lock()
	defer jl.mu.Unlock()
	return strings.Join(jl.raw, "\n")
}

func (jl *jsonLines) snapshot() []map[string]any {
	jl.mu.Lock()
	defer jl.mu.Unlock()
	return slices.Clone(jl.lines)
}

func bodyOf(line map[string]any) map[string]any {
	b, _ := line["body"].(map[string]any)
	return b
}

// isMessage reports whether line is the message event of from with text.
func isMessage(line map[string]any, from, text string) bool {
	b := bodyOf(line)
	return line["kind"] == "event" && line["type"] == campbus.EventMessage && b["from"] == from && b["text"] == text
}

func TestConnectWithTheCampsAddressesMovesToALiveNodeWhenItsNodeIsKilledAndMissesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of three campbus serve processes and kills one")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bin := buildCampbus(t)
	nodes := startServeCluster(t, bin, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]

	// J001 as a person would run it, given the camp's three addresses: it
	// connects to the first, n1. Its stdin stays open: it reads commands
	// until the test ends.
	j001 := exec.CommandContext(ctx, bin, "connect", "--json", "--addr", n1.addr+","+n2.addr+","+n3.addr, "J001")
	stdin, err := j001.StdinPipe()
	require.NoError(t, err)
	stdout, err := j001.StdoutPipe()
	require.NoError(t, err)
	var j001Err strings.Builder
	j001.Stderr = &j001Err
	require.NoError(t, j001.Start())
	out := readJSONLines(stdout)
	t.Cleanup(func() {
		_ = stdin.Close() // the end of its input: it quits
		exited := make(chan error, 1)
		go func() { exited <- j001.Wait() }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = j001.Process.Kill()
			<-exited
			t.Errorf("campbus connect did not end within 10 s of the end of its input")
		}
	})
	i, _ := out.waitFor(t, 0, 20*time.Second, "checkin response", func(l map[string]any) bool {
		return l["kind"] == "response" && l["command"] == campbus.CmdCheckin
	})
	checkin := out.snapshot()[i]
	require.EqualValues(t, 200, checkin["status"], "%v", checkin)
	group := bodyOf(checkin)["group"]
	require.NotEmpty(t, bodyOf(checkin)["nodes"], "a node of a cluster lists the camp's nodes: %v", checkin)

	// J002 on n2, in the same group, hosts a session and talks.
	j002 := checkedInClient(t, n2.addr, "J002")
	go func() {
		for range j002.Events() {
		}
	}()
	out.waitFor(t, i, 10*time.Second, "J002's join", func(l map[string]any) bool {
		return l["kind"] == "event" && l["type"] == campbus.EventJoin && bodyOf(l)["campId"] == "J002"
	})
	resp, err := j002.Do(ctx, campbus.CmdPeerSession, campbus.PeerSessionRequest{MaxCount: 10000})
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status, "%s", resp.Body)
	var (
		mu       sync.Mutex
		acked    []string        // texts answered 200, in order
		statuses = map[int]int{} // every answer's status, counted
		sent     int
	)
	// send sends message m<sent> from J002, asking again on 503 after the
	// retryAfter it is given, each time as a new message: one answered 503
	// may or may not be stored, and is not counted as acknowledged.
	send := func() error {
		mu.Lock()
		text := fmt.Sprint("m", sent)
		sent++
		mu.Unlock()
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		resp, err := j002.Do(rctx, campbus.CmdMessage, campbus.MessageRequest{Text: text})
		if err != nil {
			return fmt.Errorf("J002's message %s on n2, which lives: %w", text, err)
		}
		mu.Lock()
		defer mu.Unlock()
		statuses[resp.Status]++
		if resp.Status == 200 {
			acked = append(acked, text)
		}
		return nil
	}
	ackedSoFar := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(acked)
	}

	// Before: J001 sees them live.
	for range 10 {
		require.NoError(t, send())
	}
	last := ackedSoFar()[len(ackedSoFar())-1]
	out.waitFor(t, i, 10*time.Second, "J002's message "+last, func(l map[string]any) bool { return isMessage(l, "J002", last) })

	// During: J002 keeps talking, every 50 ms, while n1 is killed and J001
	// comes back.
	stopTalking := make(chan struct{})
	stop := sync.OnceFunc(func() { close(stopTalking) })
	defer stop()
	talked := make(chan error, 1)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopTalking:
				talked <- nil
				return
			case <-ctx.Done():
				talked <- ctx.Err()
				return
			case <-tick.C:
				if err := send(); err != nil {
					talked <- err
					return
				}
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	beforeKill := len(out.snapshot())
	require.NoError(t, n1.cmd.Process.Kill()) // SIGKILL: no shutdown, no checkout
	killed := time.Now()
	_ = n1.cmd.Wait()

	r, backAt := out.waitFor(t, beforeKill, 60*time.Second, "reconnected line", func(l map[string]any) bool {
		return l["kind"] == "connection" && l["state"] == "reconnected"
	})
	back := out.snapshot()[r]
	t.Logf("J001 was back %.2f s after the kill: %v", backAt.Sub(killed).Seconds(), back["text"])
	assert.Contains(t, []any{n2.addr, n3.addr}, back["addr"], "it moved to a live node: %v", back)
	assert.Contains(t, []any{n2.name, n3.name}, back["node"], "named as the camp names it: %v", back)
	assert.Equal(t, true, back["moved"], "%v", back)
	assert.Regexp(t, `^reconnected to n[23] \(127\.0\.0\.1:\d+\) after [0-9.]+m?s; `, back["text"])
	assert.NotContains(t, back["text"], "not shown", "%v", back)
	assert.NotContains(t, back["text"], "no longer kept", "%v", back)
	assert.NotContains(t, back["text"], "started anew", "%v", back)

	// After: a little more talk once it is back.
	time.Sleep(time.Second)
	stop()
	require.NoError(t, <-talked)
	for range 10 {
		require.NoError(t, send())
	}
	all := ackedSoFar()
	last = all[len(all)-1]
	out.waitFor(t, r, 20*time.Second, "J002's last message "+last, func(l map[string]any) bool { return isMessage(l, "J002", last) })

	// Every acknowledged message reached J001 once, in order, live or as
	// missed; those answered otherwise may be there, once each.
	lines := out.snapshot()
	var seen []string
	caughtUp, live := 0, 0
	for _, l := range lines {
		b := bodyOf(l)
		if l["kind"] != "event" || l["type"] != campbus.EventMessage || b["from"] != "J002" {
			continue
		}
		text, _ := b["text"].(string)
		seen = append(seen, text)
		if l["missed"] == true {
			caughtUp++
		} else {
			live++
		}
	}
	counts := map[string]int{}
	for _, s := range seen {
		counts[s]++
	}
	for s, c := range counts {
		assert.Equal(t, 1, c, "%s reached J001 %d times", s, c)
	}
	var seenAcked []string
	ackedSet := map[string]bool{}
	for _, s := range all {
		ackedSet[s] = true
	}
	for _, s := range seen {
		if ackedSet[s] {
			seenAcked = append(seenAcked, s)
		}
	}
	assert.Equal(t, all, seenAcked, "every acknowledged message, once, in order")
	// Offsets only go up: nothing was shown out of order.
	var prev float64
	for _, l := range lines {
		if l["kind"] != "event" {
			continue
		}
		if off, ok := bodyOf(l)["offset"].(float64); ok && bodyOf(l)["group"] == group {
			assert.Greater(t, off, prev, "events in the order of the log: %v", l)
			prev = off
		}
	}
	mu.Lock()
	t.Logf("J002 sent %d messages, %d acknowledged; answers by status: %v; J001 showed %d live and %d caught up as missed (the reconnected line: %v missed)",
		sent, len(all), statuses, live, caughtUp, back["missed"])
	mu.Unlock()
	if t.Failed() {
		t.Logf("connect's output:\n%s\nits stderr:\n%s", out.text(), j001Err.String())
		for _, n := range nodes {
			t.Logf("%s's log:\n%s", n.name, n.logText())
		}
	}
}
