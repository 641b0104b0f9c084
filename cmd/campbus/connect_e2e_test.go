package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/node"
)

// e2eTimeout bounds every wait of the end-to-end tests, which start a real
// node (embedded NATS included) and so need more room than the fake server.
const e2eTimeout = 10 * time.Second

// startE2ENode starts a real node on a random loopback port with its own data
// dir, with the options tune changes, and shuts it down when the test ends.
func startE2ENode(t *testing.T, tune ...func(*node.Options)) *node.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	opts := node.Options{
		Addr:    "127.0.0.1:0",
		DataDir: t.TempDir(),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, f := range tune {
		f(&opts)
	}
	n, err := node.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
		defer cancel()
		assert.NoError(t, n.Shutdown(ctx), "node shutdown")
	})
	return n
}

// transcript is an output buffer that runConnect writes and the test reads.
// Each write wakes the readers waiting for a line, so waiting needs no sleep.
type transcript struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on each write; mu guards it
}

func newTranscript() *transcript { return &transcript{changed: make(chan struct{})} }

func (tr *transcript) Write(p []byte) (int, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n, err := tr.buf.Write(p)
	close(tr.changed)
	tr.changed = make(chan struct{})
	return n, err
}

// snapshot returns the output so far and a channel closed at the next write.
func (tr *transcript) snapshot() (string, <-chan struct{}) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.buf.String(), tr.changed
}

func (tr *transcript) String() string {
	out, _ := tr.snapshot()
	return out
}

// scriptedConnect is `campbus connect` run in-process with stdin fed line by
// line through a pipe, as a person or a slow script would type.
type scriptedConnect struct {
	t      *testing.T
	stdin  *io.PipeWriter
	stdout *transcript
	stderr *transcript
	result chan error // runConnect's return value
	seen   int        // how much of stdout the expectations have consumed
}

// startConnect runs runConnect with args until it returns; at the end of the
// test it closes stdin and cancels the run if it is still going.
func startConnect(t *testing.T, args ...string) *scriptedConnect {
	t.Helper()
	stdinReader, stdinWriter := io.Pipe()
	sc := &scriptedConnect{
		t:      t,
		stdin:  stdinWriter,
		stdout: newTranscript(),
		stderr: newTranscript(),
		result: make(chan error, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { sc.result <- runConnect(ctx, args, stdinReader, sc.stdout, sc.stderr) }()
	t.Cleanup(func() {
		// Closing stdin releases the line reader, which may stay blocked on
		// it after the session ended, and any send still waiting.
		_ = stdinWriter.Close()
		cancel()
		select {
		case <-sc.result:
		case <-time.After(e2eTimeout):
			t.Error("runConnect did not return after its context was cancelled")
		}
	})
	return sc
}

// send types one line. A pipe write waits until the client reads the line,
// which it does only when it is ready for the next command, so the write runs
// in its own goroutine and the wait is bounded.
func (sc *scriptedConnect) send(line string) {
	sc.t.Helper()
	written := make(chan error, 1)
	go func() {
		_, err := io.WriteString(sc.stdin, line+"\n")
		written <- err
	}()
	select {
	case err := <-written:
		require.NoError(sc.t, err, "write %q to stdin", line)
	case <-time.After(e2eTimeout):
		sc.t.Fatalf("the client never read %q; output:\n%s", line, sc.stdout)
	}
}

// expect waits until the output not yet consumed contains want, then consumes
// it up to the end of want: successive expectations follow the output's order.
func (sc *scriptedConnect) expect(want string) {
	sc.t.Helper()
	deadline := time.NewTimer(e2eTimeout)
	defer deadline.Stop()
	for {
		out, changed := sc.stdout.snapshot()
		if i := strings.Index(out[sc.seen:], want); i >= 0 {
			sc.seen += i + len(want)
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			sc.t.Fatalf("output never showed %q after what was already seen; it is:\n%s", want, out)
		}
	}
}

// wait waits for runConnect to return and returns its error.
func (sc *scriptedConnect) wait() error {
	sc.t.Helper()
	select {
	case err := <-sc.result:
		sc.result <- err // for the cleanup
		return err
	case <-time.After(e2eTimeout):
		sc.t.Fatalf("the client did not exit; output:\n%s", sc.stdout)
		return nil
	}
}

// dialCamper connects with the client package and checks in as campID.
func dialCamper(t *testing.T, n *node.Node, campID string) (*client.Client, campbus.CheckinResponse) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	c, err := client.Dial(ctx, n.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	var body campbus.CheckinResponse
	resp := doOK(t, c, campbus.CmdCheckin, campbus.CheckinRequest{CampID: campID})
	require.NoError(t, resp.Decode(&body))
	return c, body
}

// doOK sends a request and requires a success.
func doOK(t *testing.T, c *client.Client, command string, body any) *client.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	resp, err := c.Do(ctx, command, body)
	require.NoError(t, err, "%s %v", command, body)
	require.Nil(t, resp.Err, "%s %v: the server refused", command, body)
	return resp
}

// expectEvent waits for the next event and requires its type.
func expectEvent(t *testing.T, c *client.Client, typ string) client.Event {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		require.True(t, ok, "the connection ended while waiting for a %s event: %v", typ, c.Err())
		require.Equal(t, typ, ev.Type, "event %s", ev.Raw)
		return ev
	case <-time.After(e2eTimeout):
		t.Fatalf("no %s event in time", typ)
		return client.Event{}
	}
}

// verifyNoLeaks checks, after every other cleanup of the test (node shutdown
// included), that no goroutine was left behind. Call it first.
func verifyNoLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func TestConnectE2EChecksInAsksAMissionAndChecksOut(t *testing.T) {
	verifyNoLeaks(t)
	n := startE2ENode(t)
	sc := startConnect(t, "--addr", n.Addr().String())

	sc.send("J004")
	sc.expect("campId? J004\n< checkin success to group#1")
	sc.send("mission 4")
	sc.expect("> mission 4\n" + `< keywords are "Heap, Stack"` + "\n")
	sc.send("checkout")
	sc.expect("> checkout\n< checkout (disconnected)\n")
	require.NoError(t, sc.wait(), "checkout ends the client with exit status 0")

	lines := transcriptLines(sc.stdout.String())
	require.NotEmpty(t, lines)
	assert.Regexp(t, activeTimeLine, lines[len(lines)-1], "the last line shows the active time")
	assert.Equal(t, []string{
		`campId? J004`,
		`< checkin success to group#1 (members: J004)`,
		`> mission 4`,
		`< keywords are "Heap, Stack"`,
		`> checkout`,
		`< checkout (disconnected)`,
	}, lines[:len(lines)-1])
	assert.Empty(t, sc.stderr.String(), "nothing on stderr")
}

func TestConnectE2EScriptWhoseCampIdIsInUseEndsWithoutReadingItsNextLine(t *testing.T) {
	verifyNoLeaks(t)
	n := startE2ENode(t)
	dialCamper(t, n, "J004") // checked in elsewhere

	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", n.Addr().String(), "J004"}, strings.NewReader("mission 4\n"), &stdout)
	var refused *checkinRefused
	require.ErrorAs(t, err, &refused, "output:\n%s", stdout.String())
	assert.Equal(t, campbus.CodeCampIDInUse, refused.cause.Code)
	assert.NotContains(t, stdout.String(), "mission", "the next line is not taken for a campId")
	assert.NotContains(t, stdout.String(), "campId?")
}

func TestConnectE2EShowsGroupMessagesAndDirectsFromAnotherCamper(t *testing.T) {
	verifyNoLeaks(t)
	n := startE2ENode(t)
	sc := startConnect(t, "--addr", n.Addr().String(), "J004")
	sc.expect("> checkin J004\n< checkin success to group#1 (members: J004)\n")

	j005, checkin := dialCamper(t, n, "J005")
	require.Equal(t, 1, checkin.Group, "the lowest group with a free seat")
	sc.expect("< J005 joined group#1 (members: J004, J005)\n")

	// The scripted client hosts a peer session; the other camper is told.
	sc.send("peersession 2")
	sc.expect("> peersession 2\n< peersession started (maxCount=2)\n")
	started := expectEvent(t, j005, campbus.EventPeerSession)
	assert.Equal(t, "J004", started.Host)
	assert.Equal(t, 2, started.MaxCount)

	// A group message arrives while the client waits for a command.
	doOK(t, j005, campbus.CmdMessage, campbus.MessageRequest{Text: "반갑습니다"})
	sc.expect(`< message from J005, "반갑습니다"` + "\n")

	// And the client's own message reaches the other camper.
	sc.send("message 안녕하세요")
	sc.expect("> message 안녕하세요\n< message sent (seq 2, 0 remaining, delivered to 1)\n")
	got := expectEvent(t, j005, campbus.EventMessage)
	assert.Equal(t, "J004", got.From)
	assert.Equal(t, "안녕하세요", got.Text)

	// Directs, both ways.
	doOK(t, j005, campbus.CmdDirect, campbus.DirectRequest{CampID: "J004", Text: "hello"})
	sc.expect(`< direct from J005, "hello"` + "\n")
	sc.send("direct J005 hi there")
	sc.expect("> direct J005 hi there\n< direct (success)\n")
	direct := expectEvent(t, j005, campbus.EventDirect)
	assert.Equal(t, "J004", direct.From)
	assert.Equal(t, "hi there", direct.Text)

	sc.send("checkout")
	sc.expect("> checkout\n< checkout (disconnected)\n< active time ")
	require.NoError(t, sc.wait(), "checkout ends the client with exit status 0")

	// The other camper hears of the end of the session whose host left,
	// then of the checkout.
	ended := expectEvent(t, j005, campbus.EventComplete)
	assert.Equal(t, "J004", ended.Host)
	assert.Equal(t, campbus.ReasonHostLeft, ended.Reason)
	left := expectEvent(t, j005, campbus.EventCheckout)
	assert.Equal(t, "J004", left.CampID)
	assert.Equal(t, campbus.ReasonCheckout, left.Reason)
	assert.Empty(t, sc.stderr.String(), "nothing on stderr")
}

func TestRunCommandLine(t *testing.T) {
	for _, sub := range []string{"serve", "echo", "connect"} {
		for _, helpFlag := range []string{"--help", "-h"} {
			t.Run(sub+" "+helpFlag+" prints its usage and returns flag.ErrHelp", func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				err := run(context.Background(), []string{sub, helpFlag}, strings.NewReader(""), &stdout, &stderr)
				require.ErrorIs(t, err, flag.ErrHelp)
				assert.Contains(t, stderr.String(), "Usage: campbus "+sub)
				assert.Contains(t, stderr.String(), "-addr", "the flags are listed")
				assert.Empty(t, stdout.String())
			})
		}
	}
	t.Run("an unknown command is an error and prints the usage", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"frobnicate"}, strings.NewReader(""), &stdout, &stderr)
		require.Error(t, err)
		assert.False(t, errors.Is(err, flag.ErrHelp))
		assert.Contains(t, err.Error(), `unknown command "frobnicate"`)
		assert.Contains(t, stderr.String(), "campbus connect [flags] [campId]")
		assert.Empty(t, stdout.String())
	})
	t.Run("no command is an error and prints the usage", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), nil, strings.NewReader(""), &stdout, &stderr)
		require.Error(t, err)
		assert.Contains(t, stderr.String(), "Usage:")
	})
	t.Run("help prints the usage on stdout", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		require.NoError(t, run(context.Background(), []string{"help"}, strings.NewReader(""), &stdout, &stderr))
		assert.Contains(t, stdout.String(), "campbus serve")
		assert.Empty(t, stderr.String())
	})
}
