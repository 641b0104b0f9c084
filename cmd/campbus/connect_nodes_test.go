package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/wire"
)

// fakeNode is one node of a scripted camp: it accepts any number of
// connections and answers each request with what its handler returns,
// until the test kills it (its connections and its listener close).
type fakeNode struct {
	t      *testing.T
	name   string
	ln     net.Listener
	handle func(req *wire.Frame) reply

	mu       sync.Mutex
	conns    []net.Conn
	requests []string // "command body", over all connections
	wg       sync.WaitGroup
}

// listenFakeNode listens, so that the camp's nodes know each other's
// addresses before any of them answers; start makes it answer.
func listenFakeNode(t *testing.T, name string) *fakeNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	n := &fakeNode{t: t, name: name, ln: ln}
	t.Cleanup(n.kill)
	return n
}

func (n *fakeNode) start(handle func(req *wire.Frame) reply) *fakeNode {
	n.handle = handle
	n.wg.Add(1)
	go n.accept()
	return n
}

func (n *fakeNode) addr() string { return n.ln.Addr().String() }

// node is how the camp advertises it in a checkin response.
func (n *fakeNode) node() campNode { return campNode{Name: n.name, TCP: n.addr()} }

func (n *fakeNode) accept() {
	defer n.wg.Done()
	for {
		conn, err := n.ln.Accept()
		if err != nil {
			return
		}
		n.mu.Lock()
		n.conns = append(n.conns, conn)
		n.mu.Unlock()
		n.wg.Add(1)
		go n.serve(conn)
	}
}

func (n *fakeNode) serve(conn net.Conn) {
	defer n.wg.Done()
	defer conn.Close()
	r := wire.NewReader(conn, wire.DefaultLimits)
	for {
		req, err := r.ReadFrame()
		if err != nil {
			return
		}
		n.mu.Lock()
		n.requests = append(n.requests, strings.TrimSpace(req.Name()+" "+string(req.Body)))
		n.mu.Unlock()
		rep := n.handle(req)
		if _, err := conn.Write(rep.frames); err != nil || rep.closeAfter {
			return
		}
	}
}

// kill stops the node as a crash does: no goodbye, every connection cut.
func (n *fakeNode) kill() {
	_ = n.ln.Close()
	n.mu.Lock()
	for _, c := range n.conns {
		_ = c.Close()
	}
	n.mu.Unlock()
	n.wg.Wait()
}

func (n *fakeNode) requestsSeen() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.requests...)
}

// checkinBody is a §11 checkin response for J004 in group 1.
func checkinBody(t *testing.T, offset int, epoch string, nodes ...campNode) string {
	b, err := json.Marshal(map[string]any{"campId": "J004", "group": 1, "members": []string{"J004"},
		"offset": offset, "epoch": epoch, "nodes": nodes})
	require.NoError(t, err)
	return string(b)
}

// unavailable is the 503 of a camp electing a leader.
func unavailable(req *wire.Frame, secs int) []byte {
	body := fmt.Sprintf(`{"error":"the camp is electing a new leader for its log after losing a node; try again in %d s","code":"unavailable","retryAfter":%d}`, secs, secs)
	// AppendResponse writes Retry-After from the body's retryAfter.
	return wire.AppendResponse(nil, http.StatusServiceUnavailable, req.Get(wire.FieldRequestID), []byte(body))
}

// countingHandler numbers the requests of each command, from 1.
type countingHandler struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *countingHandler) next(command string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]int{}
	}
	c.seen[command]++
	return c.seen[command]
}

func TestSplitAddrsTakesACommaSeparatedList(t *testing.T) {
	addrs, err := splitAddrs("10.0.0.1:2022, 10.0.0.2:2022,,10.0.0.1:2022,[::1]:2022")
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:2022", "10.0.0.2:2022", "[::1]:2022"}, addrs, "spaces, empties and repeats go")
	_, err = splitAddrs("10.0.0.1:2022,nohost")
	assert.ErrorContains(t, err, `"nohost" is not host:port`)
	_, err = splitAddrs(" , ")
	assert.ErrorContains(t, err, "names no address")
}

func TestAddrBookGoesRoundTheGivenThenTheLearnedAddresses(t *testing.T) {
	b := newAddrBook([]string{"a:1", "b:1"}, "a:1")
	b.learn([]campNode{{Name: "n1", TCP: "a:1"}, {Name: "n3", TCP: "c:1"}})
	assert.Equal(t, "a:1", b.current())
	assert.Equal(t, []string{"b:1", "c:1", "a:1", "b:1"}, []string{b.next(), b.next(), b.next(), b.next()})
	assert.Equal(t, "n3 (c:1)", b.describe("c:1"))
	assert.Equal(t, "b:1", b.describe("b:1"), "no name was given for it")

	b.moveTo("c:1")
	b.learn([]campNode{{Name: "n4", TCP: "d:1"}})
	assert.Equal(t, "c:1", b.current(), "the current node stays, though the camp no longer lists it")
	assert.Equal(t, []string{"a:1", "b:1", "d:1", "c:1"}, b.all())
	b.learn(nil)
	assert.Equal(t, []string{"a:1", "b:1", "d:1", "c:1"}, b.all(), "a node alone sends no nodes: nothing is forgotten")
}

func TestConnectAddrListDialsTheFirstThatAnswers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	srv := startFakeCampServer(t, campHandler(t))

	var stdout bytes.Buffer
	err = runConnectForTest(t, []string{"--addr", dead + "," + srv.addr(), "J004"}, strings.NewReader("mission 4\n"), &stdout)
	require.NoError(t, err)
	assert.Contains(t, stdout.String(), "< checkin success to group#1")
	assert.Contains(t, stdout.String(), `< keywords are "Heap, Stack"`)

	err = runConnect(t.Context(), []string{"--addr", dead + "," + dead + "0"}, strings.NewReader(""), &stdout, &stdout)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no address of --addr answered: nothing is listening on "+dead)
}

func TestConnectMovesToALiveNodeWaitsForItsCampIdAndRetriesWhileTheCampElects(t *testing.T) {
	verifyNoLeaks(t)
	n1, n2 := listenFakeNode(t, "n1"), listenFakeNode(t, "n2")
	n1.start(func(req *wire.Frame) reply {
		switch req.Name() {
		case campbus.CmdCheckin:
			return reply{frames: ok(req, checkinBody(t, 3, "e1", campNode{Name: "n1", TCP: "127.0.0.1:1"}, n2.node()))}
		}
		return reply{frames: fail(req, http.StatusNotFound, campbus.CodeUnknownCommand, "no such command")}
	})
	var count countingHandler
	n2.start(func(req *wire.Frame) reply {
		switch req.Name() {
		case campbus.CmdCheckin:
			if count.next(campbus.CmdCheckin) <= 2 { // the camp has not yet released the lost node's J004
				return reply{frames: fail(req, http.StatusConflict, campbus.CodeCampIDInUse, "camp id J004 is checked in on another connection")}
			}
			return reply{frames: ok(req, checkinBody(t, 5, "e1", n2.node()))}
		case campbus.CmdHistory:
			return reply{frames: ok(req, `{"events":[{"type":"message","group":1,"from":"J005","text":"while you moved","seq":1,"remaining":1,"offset":4,"epoch":"e1"},`+
				`{"type":"join","group":1,"campId":"J004","members":["J005","J004"],"offset":5,"epoch":"e1"}],"next":5,"epoch":"e1"}`)}
		case campbus.CmdMission:
			if count.next(campbus.CmdMission) == 1 {
				return reply{frames: unavailable(req, 1)}
			}
			return reply{frames: ok(req, `{"day":4,"keywords":"Heap, Stack"}`)}
		}
		return reply{frames: fail(req, http.StatusNotFound, campbus.CodeUnknownCommand, "no such command")}
	})

	// Only n1 is given: n2 is learned from the checkin. The first address
	// n1 names (127.0.0.1:1) is its own advertised address, which nothing
	// answers; the client goes round to n2.
	sc := startConnect(t, "--addr", n1.addr(), "J004")
	sc.expect("< checkin success to group#1 (members: J004)\n")
	n1.kill()
	sc.expect("< the connection to " + n1.addr() + " ended; reconnecting (Ctrl-D stops)\n")
	sc.expect("< checkin as J004 refused for now: camp id J004 is checked in on another connection; " +
		"waiting for the camp to release J004 (it does a few seconds after its old connection is gone); trying again\n")
	sc.expect("< reconnected to n2 (" + n2.addr() + ") after ")
	sc.expect("; 1 missed event\n" + `< (missed) message from J005, "while you moved"` + "\n")
	sc.send("mission 4")
	sc.expect("> mission 4\n< the camp is electing a leader; trying mission again in 1 s\n" + `< keywords are "Heap, Stack"` + "\n")

	out := sc.stdout.String()
	assert.Equal(t, 1, strings.Count(out, "refused for now"), "the wait for the campId is told once:\n%s", out)
	assert.Equal(t, []string{
		`checkin {"campId":"J004"}`,
		`checkin {"campId":"J004"}`,
		`checkin {"campId":"J004"}`,
		`history {"after":3,"epoch":"e1","limit":1000}`,
		`mission {"day":4}`,
		`mission {"day":4}`,
	}, n2.requestsSeen(), "the same camper checks in again, catches up from its offset in its epoch, and asks again after the 503")
}

func TestConnectJSONSaysWhereItMovedAndWhenItRetries(t *testing.T) {
	verifyNoLeaks(t)
	n1, n2 := listenFakeNode(t, "n1"), listenFakeNode(t, "n2")
	n1.start(func(req *wire.Frame) reply {
		return reply{frames: ok(req, checkinBody(t, 3, "", n2.node()))}
	})
	var count countingHandler
	n2.start(func(req *wire.Frame) reply {
		switch req.Name() {
		case campbus.CmdCheckin:
			if count.next(campbus.CmdCheckin) == 1 {
				return reply{frames: unavailable(req, 1)} // a checkin answered 503 was taken back
			}
			return reply{frames: ok(req, checkinBody(t, 3, ""))}
		case campbus.CmdHistory:
			return reply{frames: ok(req, `{"events":[],"next":3}`)}
		}
		return reply{frames: fail(req, http.StatusNotFound, campbus.CodeUnknownCommand, "no such command")}
	})
	sc := startConnect(t, "--addr", n1.addr()+","+n2.addr(), "--json", "J004")
	sc.expectJSON(t, func(line map[string]any) bool { return line["kind"] == "response" && line["status"] == 200.0 })
	n1.kill()
	retry := sc.expectJSON(t, func(line map[string]any) bool { return line["kind"] == "retry" })
	assert.Equal(t, map[string]any{"kind": "retry", "command": "checkin", "status": 503.0, "code": "unavailable", "retryAfter": 1.0,
		"attempt": 1.0, "text": "the camp is electing a leader; trying checkin again in 1 s"}, retry)
	back := sc.expectJSON(t, func(line map[string]any) bool { return line["kind"] == "connection" && line["state"] == "reconnected" })
	assert.Equal(t, n2.addr(), back["addr"])
	assert.Equal(t, "n2", back["node"])
	assert.Equal(t, true, back["moved"])
	assert.Equal(t, []string{`checkin {"campId":"J004"}`, `checkin {"campId":"J004"}`, `history {"after":3,"limit":1000}`},
		n2.requestsSeen(), "no epoch from the server, none sent")
}

func TestConnectNamesTheNodeItMovedToWhenOnlyThatNodesCheckinNamesIt(t *testing.T) {
	verifyNoLeaks(t)
	n1, n2 := listenFakeNode(t, "n1"), listenFakeNode(t, "n2")
	// n1 has not yet heard n2 (just started, as a camp's nodes are); n2's
	// own checkin response is the first to name it.
	n1.start(func(req *wire.Frame) reply {
		return reply{frames: ok(req, checkinBody(t, 3, "e1", n1.node()))}
	})
	n2.start(func(req *wire.Frame) reply {
		switch req.Name() {
		case campbus.CmdCheckin:
			return reply{frames: ok(req, checkinBody(t, 3, "e1", n2.node()))}
		case campbus.CmdHistory:
			return reply{frames: ok(req, `{"events":[],"next":3,"epoch":"e1"}`)}
		}
		return reply{frames: fail(req, http.StatusNotFound, campbus.CodeUnknownCommand, "no such command")}
	})
	sc := startConnect(t, "--addr", n1.addr()+","+n2.addr(), "--json", "J004")
	sc.expectJSON(t, func(line map[string]any) bool { return line["kind"] == "response" && line["status"] == 200.0 })
	n1.kill()
	back := sc.expectJSON(t, func(line map[string]any) bool { return line["kind"] == "connection" && line["state"] == "reconnected" })
	assert.Equal(t, "n2", back["node"])
	assert.Regexp(t, `^reconnected to n2 \(`+regexp.QuoteMeta(n2.addr())+`\) after `, back["text"])
}

func TestConnectGivesUpRetryingAfterItsBudgetAndShowsThe503(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFakeCampServer(t, func(req *wire.Frame) reply {
		if req.Name() == campbus.CmdMission {
			return reply{frames: unavailable(req, 31)} // more than the budget: given up at once
		}
		return campHandler(t)(req)
	})
	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", srv.addr(), "J004"}, strings.NewReader("mission 4\n"), &stdout)
	require.NoError(t, err)
	assert.Contains(t, stdout.String(), "> mission 4\n< mission failed: the camp is electing a new leader for its log after losing a node; try again in 31 s\n")
	assert.NotContains(t, stdout.String(), "trying mission again")
}

// A message answered 503 may have been stored: it is shown, not sent
// again, where a mission is asked again.
func TestConnectSendsAMessageAnswered503OnlyOnce(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var messages atomic.Int32
	srv := startFakeCampServer(t, func(req *wire.Frame) reply {
		if req.Name() == campbus.CmdMessage {
			messages.Add(1)
			return reply{frames: unavailable(req, 1)}
		}
		return campHandler(t)(req)
	})
	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", srv.addr(), "J004"}, strings.NewReader("message hello\n"), &stdout)
	require.NoError(t, err)
	assert.Contains(t, stdout.String(), "> message hello\n< message failed: the camp is electing a new leader")
	assert.NotContains(t, stdout.String(), "trying message again")
	assert.Equal(t, int32(1), messages.Load(), "sent once")
}

func TestRetryAfterComesFromTheBodyElseTheHeader(t *testing.T) {
	resp := &client.Response{Status: 503, Err: &campbus.Error{Code: campbus.CodeUnavailable, RetryAfter: 2}, RetryAfter: 5 * time.Second}
	assert.Equal(t, 2*time.Second, retryAfter(resp))
	resp.Err.RetryAfter = 0
	assert.Equal(t, 5*time.Second, retryAfter(resp))
	resp.RetryAfter = 0
	assert.Equal(t, time.Second, retryAfter(resp), "at least a second")
}

func TestConnectTellsWhenTheCampsLogWasStartedAnewAndShowsTheNewOne(t *testing.T) {
	verifyNoLeaks(t)
	n1, n2 := listenFakeNode(t, "n1"), listenFakeNode(t, "n2")
	n1.start(func(req *wire.Frame) reply {
		return reply{frames: ok(req, checkinBody(t, 7, "old", n1.node(), n2.node()))}
	})
	n2.start(func(req *wire.Frame) reply {
		switch req.Name() {
		case campbus.CmdCheckin:
			return reply{frames: ok(req, checkinBody(t, 2, "new", n1.node(), n2.node()))}
		case campbus.CmdHistory:
			if len(req.Body) > 0 {
				return reply{frames: wire.AppendResponse(nil, http.StatusConflict, req.Get(wire.FieldRequestID),
					[]byte(`{"error":"the camp's log was started anew; offsets of the old one mean nothing here","code":"epoch-changed","epoch":"new"}`))}
			}
			return reply{frames: ok(req, `{"events":[{"type":"join","group":1,"campId":"J006","members":["J006"],"offset":1,"epoch":"new"},`+
				`{"type":"join","group":1,"campId":"J004","members":["J006","J004"],"offset":2,"epoch":"new"}],"epoch":"new"}`)}
		}
		return reply{frames: fail(req, http.StatusNotFound, campbus.CodeUnknownCommand, "no such command")}
	})

	sc := startConnect(t, "--addr", n1.addr()+","+n2.addr(), "J004")
	sc.expect("< checkin success to group#1 (members: J004)\n")
	machine := startConnect(t, "--addr", n1.addr()+","+n2.addr(), "--json", "J004")
	machine.expectJSON(t, func(line map[string]any) bool { return line["kind"] == "response" })
	n1.kill()
	sc.expect("< reconnected to n2 (" + n2.addr() + ") after ")
	sc.expect("; 1 missed event; the camp's log was started anew, so the events before it are gone (these are the latest of the new log)\n" +
		"< (missed) J006 joined group#1 (members: J006)\n")
	back := machine.expectJSON(t, func(line map[string]any) bool { return line["kind"] == "connection" && line["state"] == "reconnected" })
	assert.Equal(t, true, back["epochChanged"])
	assert.Equal(t, 1.0, back["missed"])

	var histories []string
	for _, r := range n2.requestsSeen() {
		if strings.HasPrefix(r, "history") {
			histories = append(histories, r)
		}
	}
	assert.Equal(t, []string{`history {"after":7,"epoch":"old","limit":1000}`, `history`, `history {"after":7,"epoch":"old","limit":1000}`, `history`},
		histories, "each client asks in its epoch, then the new log's latest without after")
}
