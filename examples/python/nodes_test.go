package python

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus/wire"
)

// fakeNode is one node of a scripted camp, to play what a real one does
// only under faults (PROTOCOL §11): it accepts connections and answers each request with
// what answer returns, until kill.
type fakeNode struct {
	ln     net.Listener
	answer func(command string, body []byte) (status int, resp string)

	mu       sync.Mutex
	conns    []net.Conn
	requests []string
	wg       sync.WaitGroup
}

// listenFakeNode listens, so that the camp's nodes know each other's
// addresses before any of them answers; start makes it answer.
func listenFakeNode(t *testing.T) *fakeNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	n := &fakeNode{ln: ln}
	t.Cleanup(n.kill)
	return n
}

func startFakeNode(t *testing.T, answer func(command string, body []byte) (int, string)) *fakeNode {
	t.Helper()
	return listenFakeNode(t).start(answer)
}

func (n *fakeNode) start(answer func(command string, body []byte) (int, string)) *fakeNode {
	n.answer = answer
	ln := n.ln
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			n.mu.Lock()
			n.conns = append(n.conns, conn)
			n.mu.Unlock()
			n.wg.Add(1)
			go n.serve(conn)
		}
	}()
	return n
}

func (n *fakeNode) addr() string { return n.ln.Addr().String() }

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
		n.requests = append(n.requests, strings.TrimSpace(req.Name()+" "+canonical(req.Body)))
		n.mu.Unlock()
		status, body := n.answer(req.Name(), req.Body)
		// A 503's Retry-After comes from its body's retryAfter.
		frame := wire.AppendResponse(nil, status, req.Get(wire.FieldRequestID), []byte(body))
		if _, err := conn.Write(frame); err != nil || req.Name() == "checkout" {
			return
		}
	}
}

// canonical writes a JSON body with sorted keys, as Go would.
func canonical(body []byte) string {
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return string(body)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

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

// counter numbers the requests of each command, from 1.
type counter struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *counter) next(command string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]int{}
	}
	c.seen[command]++
	return c.seen[command]
}

// interactivePython is campbus_client.py reading commands from a pipe.
type interactivePython struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout lockedLines
	stderr lockedLines
	done   chan error
}

type lockedLines struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lockedLines) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.WriteString(line + "\n")
}

func (l *lockedLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func startInteractivePython(t *testing.T, python string, args ...string) *interactivePython {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	cmd := exec.CommandContext(ctx, python, append([]string{"campbus_client.py"}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	ip := &interactivePython{t: t, cmd: cmd, done: make(chan error, 1)}
	var err error
	ip.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var readers sync.WaitGroup
	for _, pipe := range []struct {
		r    io.Reader
		into *lockedLines
	}{{stdout, &ip.stdout}, {stderr, &ip.stderr}} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(pipe.r)
			for sc.Scan() {
				pipe.into.add(sc.Text())
			}
		}()
	}
	go func() {
		readers.Wait()
		ip.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		_ = ip.stdin.Close()
		<-ip.done
	})
	return ip
}

func (ip *interactivePython) waitFor(out *lockedLines, want string) {
	ip.t.Helper()
	require.Eventually(ip.t, func() bool { return strings.Contains(out.String(), want) }, testTimeout, 10*time.Millisecond,
		"no %q; stdout:\n%s\nstderr:\n%s", want, ip.stdout.String(), ip.stderr.String())
}

func (ip *interactivePython) send(lines string) {
	ip.t.Helper()
	_, err := io.WriteString(ip.stdin, lines)
	require.NoError(ip.t, err)
}

func (ip *interactivePython) exitCode() int {
	ip.t.Helper()
	select {
	case err := <-ip.done:
		ip.done <- err
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		require.NoError(ip.t, err)
		return 0
	case <-time.After(testTimeout):
		ip.t.Fatal("the client did not exit")
		return -1
	}
}

func checkinBody(offset int, epoch string, nodes ...*fakeNode) string {
	var listed []map[string]string
	for i, n := range nodes {
		listed = append(listed, map[string]string{"name": fmt.Sprintf("n%d", i+1), "tcp": n.addr()})
	}
	b, _ := json.Marshal(map[string]any{"campId": "J004", "group": 1, "members": []string{"J004"}, "offset": offset, "epoch": epoch, "nodes": listed})
	return string(b)
}

const electing = `{"error":"the camp is electing a new leader for its log after losing a node; try again in 1 s","code":"unavailable","retryAfter":1}`

func TestPythonClientMovesToALiveNodeAndRetriesWhileTheCampElects(t *testing.T) {
	python := lookPython(t)
	n1, n2 := listenFakeNode(t), listenFakeNode(t)
	n1.start(func(command string, _ []byte) (int, string) {
		return 200, checkinBody(3, "e1", n1, n2)
	})
	var count counter
	n2.start(func(command string, _ []byte) (int, string) {
		switch command {
		case "checkin":
			if count.next(command) <= 2 {
				return 409, `{"error":"camp id J004 is checked in on another connection","code":"camp-id-in-use"}`
			}
			return 200, checkinBody(5, "e1", n1, n2)
		case "history":
			return 200, `{"events":[{"type":"message","group":1,"from":"J005","text":"while you moved","seq":1,"remaining":1,"offset":4,"epoch":"e1"},` +
				`{"type":"join","group":1,"campId":"J004","members":["J005","J004"],"offset":5,"epoch":"e1"}],"next":5,"epoch":"e1"}`
		case "mission":
			if count.next(command) == 1 {
				return 503, electing
			}
			return 200, `{"day":4,"keywords":"Heap, Stack"}`
		case "checkout":
			return 200, `{"campId":"J004","group":1,"activeMs":5}`
		}
		return 404, `{"error":"no such command","code":"unknown-command"}`
	})

	py := startInteractivePython(t, python, "--addr", n1.addr(), "--camp-id", "J004")
	py.waitFor(&py.stdout, `"campId": "J004"`)
	n1.kill()
	py.waitFor(&py.stderr, "the connection to "+n1.addr()+" ended; reconnecting")
	py.waitFor(&py.stderr, "reconnected to n2 ("+n2.addr()+") after ")
	py.send("mission 4\ncheckout\n")
	require.Equal(t, 0, py.exitCode(), "stderr:\n%s", py.stderr.String())

	assert.Contains(t, py.stdout.String(), `* (missed) {"type": "message", "group": 1, "from": "J005", "text": "while you moved"`)
	assert.NotContains(t, py.stdout.String(), `(missed) {"type": "join"`, "its own join is no news")
	assert.Contains(t, py.stdout.String(), `{"day": 4, "keywords": "Heap, Stack"}`)
	assert.Equal(t, 1, strings.Count(py.stderr.String(), "refused for now"), "the wait for the campId is told once:\n%s", py.stderr.String())
	assert.Contains(t, py.stderr.String(), "waiting for the camp to release J004")
	assert.Contains(t, py.stderr.String(), "the camp is electing a leader; trying mission again in 1 s\n")
	assert.Equal(t, []string{
		`checkin {"campId":"J004"}`, `checkin {"campId":"J004"}`, `checkin {"campId":"J004"}`,
		`history {"after":3,"epoch":"e1","limit":1000}`,
		`mission {"day":4}`, `mission {"day":4}`, `checkout {}`,
	}, n2.requestsSeen())
}

func TestPythonClientTellsWhenTheCampsLogWasStartedAnew(t *testing.T) {
	python := lookPython(t)
	n1, n2 := listenFakeNode(t), listenFakeNode(t)
	n1.start(func(string, []byte) (int, string) { return 200, checkinBody(7, "old", n1, n2) })
	n2.start(func(command string, body []byte) (int, string) {
		switch command {
		case "checkin":
			return 200, checkinBody(2, "new", n1, n2)
		case "history":
			if strings.Contains(string(body), "after") {
				return 409, `{"error":"the camp's log was started anew; offsets of the old one mean nothing here","code":"epoch-changed","epoch":"new"}`
			}
			return 200, `{"events":[{"type":"join","group":1,"campId":"J006","members":["J006"],"offset":1,"epoch":"new"},` +
				`{"type":"join","group":1,"campId":"J004","members":["J006","J004"],"offset":2,"epoch":"new"}],"epoch":"new"}`
		}
		return 200, `{}`
	})
	py := startInteractivePython(t, python, "--addr", n1.addr()+","+n2.addr(), "--camp-id", "J004")
	py.waitFor(&py.stdout, `"campId": "J004"`)
	n1.kill()
	py.waitFor(&py.stderr, "reconnected to n2 ("+n2.addr()+") after ")
	py.waitFor(&py.stderr, "1 missed events; the camp's log was started anew, so the events before it are gone")
	py.waitFor(&py.stdout, `* (missed) {"type": "join", "group": 1, "campId": "J006"`)
	require.NoError(t, py.stdin.Close())
	require.Equal(t, 0, py.exitCode())
	assert.Equal(t, []string{`checkin {"campId":"J004"}`, `history {"after":7,"epoch":"old","limit":1000}`, `history {}`}, n2.requestsSeen())
}

func TestPythonClientWhoseCheckinIsRefusedExitsWith3(t *testing.T) {
	python := lookPython(t)
	n := startFakeNode(t, func(string, []byte) (int, string) {
		return 409, `{"error":"camp id J004 is checked in on another connection","code":"camp-id-in-use"}`
	})
	stdout, stderr, err := runPython(t, python, "mission 4\n", "--addr", n.addr(), "--camp-id", "J004")
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 3, exit.ExitCode())
	assert.Contains(t, stderr, "error: 409 camp-id-in-use: camp id J004 is checked in on another connection (the checkin as J004 was refused)")
	assert.Empty(t, stdout)
	assert.Equal(t, []string{`checkin {"campId":"J004"}`}, n.requestsSeen(), "nothing after the refusal is sent")
}
