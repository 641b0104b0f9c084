// Package python tests the Python example client, campbus_client.py, against
// a real campbus server started in-process.
package python

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/auth"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/internal/camptest"
	"github.com/campbus/campbus/node"
)

// testTimeout bounds every wait; the whole scenario takes about a second.
const testTimeout = 30 * time.Second

// scriptLine is one JSON line printed by `campbus_client.py --script`: the
// outcome of a step (a request) or an event the script waited for.
type scriptLine struct {
	Step   string          `json:"step"`
	Status int             `json:"status"`
	Code   string          `json:"code"`
	Error  string          `json:"error"`
	Body   json.RawMessage `json:"body"`
	Event  *campbus.Event  `json:"event"`
}

// pythonScript is the Python demo running against a server, its output read
// line by line as it comes.
type pythonScript struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan scriptLine // closed at the end of its stdout
	seen   []scriptLine    // every line read so far, in order
	stderr bytes.Buffer
}

// lookPython returns the path of python3, or skips the test without it.
func lookPython(t *testing.T) string {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH, so the Python example client cannot be tested here (CI has python3)")
	}
	return python
}

// startPythonScript runs the demo scenario as campID against addr.
func startPythonScript(t *testing.T, python, addr, campID string) *pythonScript {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	cmd := exec.CommandContext(ctx, python, "campbus_client.py",
		"--addr", addr, "--camp-id", campID, "--script", "--wait", "20")
	cmd.WaitDelay = 5 * time.Second
	ps := &pythonScript{t: t, cmd: cmd, lines: make(chan scriptLine)}
	cmd.Stderr = &ps.stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start(), "start python3")
	go ps.readLines(t, stdout)
	t.Cleanup(func() {
		cancel() // kills the script if the test ended early
		for range ps.lines {
		}
		_ = cmd.Wait() // its outcome is checked by wait when the test gets there
	})
	return ps
}

func (ps *pythonScript) readLines(t *testing.T, stdout io.Reader) {
	defer close(ps.lines)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var line scriptLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("the script printed a line that is not JSON: %q", sc.Text())
			continue
		}
		ps.lines <- line
	}
}

// waitStep reads lines until the step named step, and returns it.
func (ps *pythonScript) waitStep(step string) scriptLine {
	ps.t.Helper()
	timeout := time.After(testTimeout)
	for {
		select {
		case line, ok := <-ps.lines:
			if !ok {
				ps.t.Fatalf("the script ended before step %q; stderr:\n%s", step, ps.stderr.String())
			}
			ps.seen = append(ps.seen, line)
			if line.Step == step {
				return line
			}
		case <-timeout:
			ps.t.Fatalf("no step %q in time; lines so far: %+v", step, ps.seen)
		}
	}
}

// wait reads the rest of the output and requires a clean exit.
func (ps *pythonScript) wait() []scriptLine {
	ps.t.Helper()
	ps.waitStep("closed")
	for line := range ps.lines {
		ps.seen = append(ps.seen, line)
	}
	require.NoError(ps.t, ps.cmd.Wait(), "the script failed; stderr:\n%s", ps.stderr.String())
	return ps.seen
}

func startNode(t *testing.T, tune ...func(*node.Options)) *node.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	opts := node.Options{
		Addr:     "127.0.0.1:0",
		NATSAddr: "",
		DataDir:  t.TempDir(),
		Logger:   slog.New(slog.DiscardHandler),
	}
	for _, f := range tune {
		f(&opts)
	}
	n, err := node.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		assert.NoError(t, n.Shutdown(ctx), "node shutdown")
	})
	return n
}

// do sends one request from the Go camper and requires a 200.
func do[T any](t *testing.T, c *client.Client, command string, body any) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	resp, err := c.Do(ctx, command, body)
	require.NoError(t, err, command)
	var out T
	require.NoError(t, resp.Decode(&out), command)
	return out
}

// expectEvent waits for the Go camper's next event and requires its type.
func expectEvent(t *testing.T, c *client.Client, typ string) campbus.Event {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		require.True(t, ok, "the connection ended while waiting for a %s event: %v", typ, c.Err())
		require.Equal(t, typ, ev.Type, "event %s", ev.Raw)
		return ev.Event
	case <-time.After(testTimeout):
		t.Fatalf("no %s event in time", typ)
		return campbus.Event{}
	}
}

func intp(i int) *int { return &i }

func TestPythonClientChatsWithAGoCamperInTheSameGroup(t *testing.T) {
	python := lookPython(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n := startNode(t)
	addr := n.Addr().String()

	py := startPythonScript(t, python, addr, "J004")
	py.waitStep("checkin")

	// The Go camper joins the Python camper's group, and answers it.
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	goCamper, err := client.Dial(ctx, addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = goCamper.Close() })
	joined := do[campbus.CheckinResponse](t, goCamper, campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J005"})
	assert.Equal(t, []string{"J004", "J005"}, joined.Members)

	session := expectEvent(t, goCamper, campbus.EventPeerSession)
	assert.Equal(t, "J004", session.Host)
	assert.Equal(t, 2, session.MaxCount)
	msg := expectEvent(t, goCamper, campbus.EventMessage)
	assert.Equal(t, campbus.Event{Type: "message", Group: joined.Group, From: "J004", Text: "hello from Python 🐍", Seq: 1, Remaining: intp(1), Offset: 4, Epoch: joined.Epoch}, msg)
	direct := expectEvent(t, goCamper, campbus.EventDirect)
	assert.Equal(t, "J004", direct.From)
	assert.Equal(t, "hi, this is Python", direct.Text)

	sent := do[campbus.MessageResponse](t, goCamper, campbus.CmdMessage, campbus.MessageRequest{Text: "hello from Go 🐹"})
	assert.Equal(t, campbus.MessageResponse{Group: joined.Group, Seq: 2, Remaining: 0, Delivered: 1}, sent)
	do[campbus.DirectResponse](t, goCamper, campbus.CmdDirect, campbus.DirectRequest{CampID: "J004", Text: "hi Python, Go here"})

	// The Python camper hosted the session: its checkout ends it.
	ended := expectEvent(t, goCamper, campbus.EventComplete)
	assert.Equal(t, campbus.ReasonHostLeft, ended.Reason)
	left := expectEvent(t, goCamper, campbus.EventCheckout)
	assert.Equal(t, "J004", left.CampID)
	assert.Equal(t, campbus.ReasonCheckout, left.Reason)

	// What the Python side saw, step by step.
	lines := py.wait()
	steps := map[string]scriptLine{}
	var events []campbus.Event
	for _, line := range lines {
		if line.Event != nil {
			events = append(events, *line.Event)
		} else {
			steps[line.Step] = line
		}
	}
	for _, tc := range []struct {
		step, code string
		status     int
	}{
		{"mission-before-checkin", "not-checked-in", 403},
		{"checkin-bad-id", "bad-camp-id", 400},
		{"checkin", "", 200},
		{"mission", "", 200},
		{"mission-bad-day", "bad-day", 400},
		{"peersession", "", 200},
		{"message", "", 200},
		{"direct", "", 200},
		{"message-over-limit", "limit-reached", 409},
		{"history", "", 200},
		{"checkout", "", 200},
	} {
		line, ok := steps[tc.step]
		if assert.True(t, ok, "no step %q in %+v", tc.step, lines) {
			assert.Equal(t, tc.status, line.Status, "step %s: %+v %s", tc.step, line, line.Body)
			assert.Equal(t, tc.code, line.Code, "step %s", tc.step)
		}
	}

	var checkin campbus.CheckinResponse
	require.NoError(t, json.Unmarshal(steps["checkin"].Body, &checkin))
	assert.Equal(t, campbus.CheckinResponse{CampID: "J004", Group: joined.Group, Members: []string{"J004"}, Offset: 1, Epoch: joined.Epoch}, checkin)
	var mission campbus.MissionResponse
	require.NoError(t, json.Unmarshal(steps["mission"].Body, &mission))
	assert.Equal(t, campbus.MissionResponse{Day: 4, Keywords: "Heap, Stack"}, mission)
	var message campbus.MessageResponse
	require.NoError(t, json.Unmarshal(steps["message"].Body, &message))
	assert.Equal(t, campbus.MessageResponse{Group: joined.Group, Seq: 1, Remaining: 1, Delivered: 1}, message)
	var history campbus.HistoryResponse
	require.NoError(t, json.Unmarshal(steps["history"].Body, &history))
	assert.Len(t, history.Events, 7, "two joins, peersession, two messages, two directs: %s", steps["history"].Body)
	var checkout campbus.CheckoutResponse
	require.NoError(t, json.Unmarshal(steps["checkout"].Body, &checkout))
	assert.Equal(t, "J004", checkout.CampID)
	assert.Positive(t, checkout.ActiveMs)

	// The join comes first (the script waits for it); the other camper's
	// message and direct travel on different subjects, in either order.
	require.Len(t, events, 3, "events seen by the Python camper: %+v", events)
	assert.Equal(t, campbus.Event{Type: "join", Group: joined.Group, CampID: "J005", Members: []string{"J004", "J005"}, Offset: 2, Epoch: joined.Epoch}, events[0])
	assert.ElementsMatch(t, []campbus.Event{
		{Type: "message", Group: joined.Group, From: "J005", Text: "hello from Go 🐹", Seq: 2, Remaining: intp(0), Offset: 5, Epoch: joined.Epoch},
		{Type: "direct", From: "J005", To: "J004", Text: "hi Python, Go here"},
	}, events[1:])
}

func TestPythonClientTakesCommandsFromStdinWhenNotScripted(t *testing.T) {
	python := lookPython(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n := startNode(t)

	out, stderr, err := runPython(t, python, "mission 4\nmission 99\ndance\ncheckout\n", "--addr", n.Addr().String(), "--camp-id", "J007")
	require.NoError(t, err, "stderr:\n%s", stderr)

	for _, want := range []string{
		fmt.Sprintf(`{"campId": "J007", "group": 1, "members": ["J007"], "offset": 1, "epoch": %q}`, n.Epoch()),
		`{"day": 4, "keywords": "Heap, Stack"}`,
		"error: 404 no-mission: ",
		"unknown command 'dance'",
		`{"campId": "J007", "group": 1, "activeMs": `,
	} {
		assert.Contains(t, string(out), want)
	}
}

func TestPythonClientShowsItsTokenFromTheFlagOrTheEnvironment(t *testing.T) {
	python := lookPython(t)
	const secret = "the camp's secret, for the Python test"
	n := startNode(t, func(o *node.Options) { o.AuthSecret = secret })
	key, err := auth.NewSecret(secret)
	require.NoError(t, err)
	token := func(id string) string {
		tok, err := key.Mint(id, time.Hour, time.Now())
		require.NoError(t, err)
		return tok
	}
	interactive := func(env []string, args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, python, append([]string{"campbus_client.py", "--addr", n.Addr().String()}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdin = strings.NewReader("checkout\n")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	out, stderr, err := interactive([]string{"CAMPBUS_TOKEN="}, "--camp-id", "J004", "--token", token("J004"))
	require.NoError(t, err, "stderr:\n%s", stderr)
	assert.Contains(t, out, fmt.Sprintf(`{"campId": "J004", "group": 1, "members": ["J004"], "offset": 1, "epoch": %q}`, n.Epoch()))

	out, stderr, err = interactive([]string{"CAMPBUS_TOKEN=" + token("J005")}, "--camp-id", "J005")
	require.NoError(t, err, "stderr:\n%s", stderr)
	assert.Contains(t, out, `"campId": "J005"`)

	_, stderr, err = interactive([]string{"CAMPBUS_TOKEN="}, "--camp-id", "J006")
	require.Error(t, err, "without a token the checkin is refused")
	assert.Contains(t, stderr, "error: 401 bad-token: ")
}

// runPython runs campbus_client.py with args and stdin, and returns what it
// wrote.
func runPython(t *testing.T, python, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{"campbus_client.py"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.Output()
	return string(out), errBuf.String(), err
}

func TestPythonClientChecksInOverTLS(t *testing.T) {
	python := lookPython(t)
	ca, dir := camptest.NewCA(t), t.TempDir()
	cert, key := ca.WriteKeyPair(t, dir, "camp")
	n := startNode(t, func(o *node.Options) { o.TLSCert, o.TLSKey = cert, key })
	addr := n.Addr().String()

	out, stderr, err := runPython(t, python, "mission 4\ncheckout\n", "--addr", addr, "--camp-id", "J007", "--tls", "--ca", ca.WriteCA(t, dir))
	require.NoError(t, err, "stderr:\n%s", stderr)
	assert.Contains(t, out, fmt.Sprintf(`{"campId": "J007", "group": 1, "members": ["J007"], "offset": 1, "epoch": %q}`, n.Epoch()))
	assert.Contains(t, out, `{"day": 4, "keywords": "Heap, Stack"}`)

	_, stderr, err = runPython(t, python, "", "--addr", addr, "--camp-id", "J007", "--tls")
	require.Error(t, err, "the system's CAs do not know the test's")
	assert.Contains(t, stderr, "CERTIFICATE_VERIFY_FAILED")
}
