package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/wire"
)

// connectTestTimeout bounds every wait in these tests.
const connectTestTimeout = 5 * time.Second

// fakeCampServer accepts one connection and answers each request with the
// frames its handler returns. Requests are recorded for assertions.
type fakeCampServer struct {
	t  *testing.T
	ln net.Listener

	mu       sync.Mutex
	conn     net.Conn      // the accepted connection; mu guards writes to it
	requests []*wire.Frame // in arrival order
	accepted chan struct{}
	done     chan struct{} // closed when the serving goroutine ends
}

// reply is what the fake server does with one request: write frames (events
// and the response, in order), then close the connection if closeAfter.
type reply struct {
	frames     []byte
	closeAfter bool
}

func startFakeCampServer(t *testing.T, handle func(req *wire.Frame) reply) *fakeCampServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &fakeCampServer{t: t, ln: ln, accepted: make(chan struct{}), done: make(chan struct{})}
	go s.serve(handle)
	t.Cleanup(func() {
		_ = ln.Close()
		s.mu.Lock()
		if s.conn != nil {
			_ = s.conn.Close()
		}
		s.mu.Unlock()
		<-s.done
	})
	return s
}

func (s *fakeCampServer) addr() string { return s.ln.Addr().String() }

func (s *fakeCampServer) serve(handle func(req *wire.Frame) reply) {
	defer close(s.done)
	conn, err := s.ln.Accept()
	if err != nil {
		return // the test ended without connecting
	}
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	close(s.accepted)
	defer conn.Close()

	r := wire.NewReader(conn, wire.DefaultLimits)
	for {
		req, err := r.ReadFrame()
		if err != nil {
			return // the client left
		}
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		rep := handle(req)
		s.write(rep.frames)
		if rep.closeAfter {
			return
		}
	}
}

func (s *fakeCampServer) write(frames []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.conn.Write(frames); err != nil {
		s.t.Errorf("fake server: write: %v", err)
	}
}

// push sends frames at a moment the test chooses, outside any response.
func (s *fakeCampServer) push(t *testing.T, frames []byte) {
	t.Helper()
	select {
	case <-s.accepted:
	case <-time.After(connectTestTimeout):
		t.Fatal("fake server: the client never connected")
	}
	s.write(frames)
}

// requestBodies returns "command body" for each request received.
func (s *fakeCampServer) requestBodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, req := range s.requests {
		out = append(out, strings.TrimSpace(req.Name()+" "+string(req.Body)))
	}
	return out
}

func ok(req *wire.Frame, body string) []byte {
	return wire.AppendResponse(nil, http.StatusOK, req.Get(wire.FieldRequestID), []byte(body))
}

func fail(req *wire.Frame, status int, code, sentence string) []byte {
	body, _ := json.Marshal(campbus.Error{Code: code, Message: sentence})
	return wire.AppendResponse(nil, status, req.Get(wire.FieldRequestID), body)
}

func event(typ, body string) []byte { return wire.AppendEvent(nil, typ, []byte(body)) }

// campHandler answers like a real server for the camper J004 in group 1.
func campHandler(t *testing.T) func(req *wire.Frame) reply {
	return func(req *wire.Frame) reply {
		switch req.Name() {
		case campbus.CmdCheckin:
			var body campbus.CheckinRequest
			if err := json.Unmarshal(req.Body, &body); err != nil || body.CampID != "J004" {
				return reply{frames: fail(req, http.StatusBadRequest, campbus.CodeBadCampID,
					fmt.Sprintf("camp id %s is out of range: camp ids run from J001-J384", body.CampID))}
			}
			return reply{frames: ok(req, `{"campId":"J004","group":1,"members":["J001","J004"]}`)}
		case campbus.CmdMission:
			// An event queued before the response: the transcript shows it first.
			frames := event(campbus.EventMessage, `{"group":1,"from":"J005","text":"반갑습니다","seq":1,"remaining":1}`)
			return reply{frames: append(frames, ok(req, `{"day":4,"keywords":"Heap, Stack"}`)...)}
		case campbus.CmdPeerSession:
			return reply{frames: ok(req, `{"group":1,"host":"J004","maxCount":2}`)}
		case campbus.CmdMessage:
			return reply{frames: ok(req, `{"group":1,"seq":2,"remaining":0,"delivered":2}`)}
		case campbus.CmdComplete:
			return reply{frames: fail(req, http.StatusForbidden, campbus.CodeNotHost, "only the host J001 can complete the session")}
		case campbus.CmdDirect:
			return reply{frames: ok(req, `{"to":"J005"}`)}
		case campbus.CmdCheckout:
			return reply{frames: ok(req, `{"campId":"J004","group":1,"activeMs":12}`), closeAfter: true}
		default:
			t.Errorf("fake server: unexpected request %s", req.Target)
			return reply{frames: fail(req, http.StatusNotFound, campbus.CodeUnknownCommand, "no such command")}
		}
	}
}

// transcriptLines splits output into lines, dropping the final newline.
func transcriptLines(out string) []string {
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

var activeTimeLine = regexp.MustCompile(`^< active time (\d+h \d+m \d+s|\d+m \d+s|\d+s)$`)

func runConnectForTest(t *testing.T, args []string, stdin io.Reader, stdout io.Writer) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTestTimeout)
	defer cancel()
	var stderr bytes.Buffer
	err := runConnect(ctx, args, stdin, stdout, &stderr)
	assert.Empty(t, stderr.String(), "nothing on stderr")
	return err
}

func TestConnectScriptChecksInThenRunsCommandsUntilCheckout(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFakeCampServer(t, campHandler(t))

	script := strings.Join([]string{
		"J004",
		"mission 4",
		"",
		"# comments and blank lines are skipped",
		"peersession 2",
		"message 안녕하세요,  반가워요 ",
		"complete",
		"direct J005 hello there",
		"dance",
		"checkout",
		"mission 5", // never read: checkout ends the client
	}, "\n") + "\n"
	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", srv.addr()}, strings.NewReader(script), &stdout)
	require.NoError(t, err, "checkout ends the client with exit status 0")

	lines := transcriptLines(stdout.String())
	require.NotEmpty(t, lines)
	assert.Regexp(t, activeTimeLine, lines[len(lines)-1], "the last line shows the active time")
	assert.Equal(t, []string{
		`campId? J004`,
		`< checkin success to group#1 (members: J001, J004)`,
		`> mission 4`,
		`< message from J005, "반갑습니다"`,
		`< keywords are "Heap, Stack"`,
		`> peersession 2`,
		`< peersession started (maxCount=2)`,
		`> message 안녕하세요,  반가워요 `,
		`< message sent (seq 2, 0 remaining, delivered to 2)`,
		`> complete`,
		`< complete failed: only the host J001 can complete the session`,
		`< hint: the session ends when its host completes it or leaves`,
		`> direct J005 hello there`,
		`< direct (success)`,
		`> dance`,
		`< unknown command "dance"; type help to see the commands`,
		`> checkout`,
		`< checkout (disconnected)`,
	}, lines[:len(lines)-1])

	assert.Equal(t, []string{
		`checkin {"campId":"J004"}`,
		`mission {"day":4}`,
		`peersession {"maxCount":2}`,
		`message {"text":"안녕하세요,  반가워요 "}`,
		`complete`,
		`direct {"campId":"J005","text":"hello there"}`,
		`checkout`,
	}, srv.requestBodies(), "requests as the server received them")
}

func TestConnectScriptWhoseCheckinIsRefusedEndsWithExitStatus3(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		script  string
		want    []string
		refusal string
	}{
		{"a campId given as argument", []string{"J004"}, "mission 4\ncheckout\n", []string{
			`> checkin J004`,
			`< checkin failed: camp id J004 is checked in on another connection`,
			`< hint: someone is using J004; pick another campId, e.g. J005`,
		}, `connect: checkin as J004 refused (409 camp-id-in-use): camp id J004 is checked in on another connection`},
		{"a campId read from the script", nil, "J999\nJ004\nmission 4\n", []string{
			`campId? J999`,
			`< checkin failed: camp id J999 is out of range: camp ids run from J001-J384`,
		}, `connect: checkin as J999 refused (400 bad-camp-id): camp id J999 is out of range: camp ids run from J001-J384`},
		{"--json", []string{"--json", "J004"}, "mission 4\n", []string{
			`{"kind":"response","command":"checkin","status":409,"body":{"code":"camp-id-in-use","error":"camp id J004 is checked in on another connection"}}`,
			`{"kind":"error","error":"connect: checkin as J004 refused (409 camp-id-in-use): camp id J004 is checked in on another connection","status":409,"code":"camp-id-in-use","exit":3}`,
		}, `connect: checkin as J004 refused (409 camp-id-in-use)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			srv := startFakeCampServer(t, func(req *wire.Frame) reply {
				if req.Name() == campbus.CmdCheckin && strings.Contains(string(req.Body), "J004") {
					return reply{frames: fail(req, http.StatusConflict, campbus.CodeCampIDInUse, "camp id J004 is checked in on another connection")}
				}
				return campHandler(t)(req)
			})
			var stdout bytes.Buffer
			err := runConnectForTest(t, append([]string{"--addr", srv.addr()}, tc.args...), strings.NewReader(tc.script), &stdout)
			var refused *checkinRefused
			require.ErrorAs(t, err, &refused, "output:\n%s", stdout.String())
			assert.Equal(t, exitCheckinRefused, refused.ExitCode())
			assert.Contains(t, err.Error(), tc.refusal)
			assert.Equal(t, tc.want, transcriptLines(stdout.String()), "no line after the refusal is read")
			assert.Len(t, srv.requestBodies(), 1, "only the checkin was sent: %q", srv.requestBodies())
		})
	}
}

func TestConnectWithCampIdArgumentChecksInAtOnceAndLeavesAtEndOfScript(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFakeCampServer(t, campHandler(t))

	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", srv.addr(), "J004"}, strings.NewReader("mission 4\n"), &stdout)
	require.NoError(t, err, "the end of the script ends the client with exit status 0")
	assert.Equal(t, strings.Join([]string{
		`> checkin J004`,
		`< checkin success to group#1 (members: J001, J004)`,
		`> mission 4`,
		`< message from J005, "반갑습니다"`,
		`< keywords are "Heap, Stack"`,
	}, "\n")+"\n", stdout.String())
	assert.NotContains(t, srv.requestBodies(), "checkout", "leaving at EOF sends no checkout")
}

func TestConnectLocalMistakesGetUsageLinesWithoutRequests(t *testing.T) {
	srv := startFakeCampServer(t, campHandler(t))

	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", srv.addr(), "J004"},
		strings.NewReader("mission\nmission 4 5\ndirect J005\nmessage   \nhelp\nquit\nmission 4\n"), &stdout)
	require.NoError(t, err)
	out := stdout.String()
	assert.Contains(t, out, "> mission\n< usage: mission <day>, e.g. mission 4\n")
	assert.Contains(t, out, "> mission 4 5\n< usage: mission <day>, e.g. mission 4\n")
	assert.Contains(t, out, "> direct J005\n< usage: direct <campId> <text>, e.g. direct J005 hello\n")
	assert.Contains(t, out, "< usage: message <text>")
	assert.Contains(t, out, "> help\n< commands:\n")
	assert.True(t, strings.HasSuffix(out, "> quit\n"), "quit ends the client; got:\n%s", out)
	assert.Equal(t, []string{`checkin {"campId":"J004"}`}, srv.requestBodies())
}

// syncBuffer is an output buffer that the test reads while runConnect writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForOutput waits until the output contains want.
func waitForOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(connectTestTimeout)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never showed %q; it is:\n%s", want, out.String())
		}
		time.Sleep(time.Millisecond) // polling, not synchronisation: the loop waits for the condition
	}
}

func TestConnectShowsEventsWhileWaitingForInputAndExitsOnShutdown(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFakeCampServer(t, campHandler(t))

	stdinReader, stdinWriter := io.Pipe()
	defer stdinWriter.Close()
	var stdout syncBuffer
	result := make(chan error, 1)
	go func() {
		result <- runConnect(context.Background(), []string{"--addr", srv.addr(), "--no-reconnect"}, stdinReader, &stdout, io.Discard)
	}()

	// The script console shows no prompt before reading (it echoes the line
	// with its prompt afterwards), so the campId is written at once.
	_, err := io.WriteString(stdinWriter, "J004\n")
	require.NoError(t, err)
	waitForOutput(t, &stdout, "< checkin success to group#1")

	// The client now waits for a command; events show up meanwhile.
	srv.push(t, event(campbus.EventJoin, `{"group":1,"campId":"J005","members":["J001","J004","J005"]}`))
	waitForOutput(t, &stdout, "< J005 joined group#1 (members: J001, J004, J005)\n")
	srv.push(t, event(campbus.EventDirect, `{"from":"J005","text":"hello\u001b[2J"}`))
	waitForOutput(t, &stdout, `< direct from J005, "hello\x1b[2J"`+"\n")
	srv.push(t, event(campbus.EventShutdown, `{"reason":"server shutting down"}`))

	select {
	case err := <-result:
		require.NoError(t, err, "a server shutdown ends the client with exit status 0")
	case <-time.After(connectTestTimeout):
		t.Fatal("the client did not exit after the shutdown event")
	}
	assert.True(t, strings.HasSuffix(stdout.String(), "< server shutting down\n"), "output:\n%s", stdout.String())
	require.NoError(t, stdinWriter.Close()) // releases the line reader blocked on stdin
}

func TestConnectReportsALostConnectionAsAnError(t *testing.T) {
	srv := startFakeCampServer(t, func(req *wire.Frame) reply {
		if req.Name() == campbus.CmdMission {
			return reply{closeAfter: true} // no response: the server vanishes
		}
		return campHandler(t)(req)
	})

	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", srv.addr(), "--no-reconnect", "J004"}, strings.NewReader("mission 4\nmission 6\n"), &stdout)
	require.Error(t, err, "output:\n%s", stdout.String())
	assert.ErrorIs(t, err, io.EOF)
	assert.Contains(t, err.Error(), "connection to "+srv.addr()+" ended")
	assert.NotContains(t, stdout.String(), "mission 6", "nothing is read after the loss; output:\n%s", stdout.String())
}

func TestConnectFlags(t *testing.T) {
	t.Run("help prints the usage with an example to stderr", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		err := runConnect(context.Background(), []string{"--help"}, strings.NewReader(""), &stdout, &stderr)
		require.ErrorIs(t, err, flag.ErrHelp)
		assert.Contains(t, stderr.String(), "Usage: campbus connect [--addr host:port[,host:port...]] [--json] [--trace] [--no-reconnect] [campId]")
		assert.Contains(t, stderr.String(), "campbus connect J004")
		assert.Contains(t, stderr.String(), "-addr")
		assert.Empty(t, stdout.String())
	})
	t.Run("two campIds are refused", func(t *testing.T) {
		var stderr bytes.Buffer
		err := runConnect(context.Background(), []string{"J004", "J005"}, strings.NewReader(""), io.Discard, &stderr)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "at most one campId")
	})
	t.Run("an unreachable server is an error", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		err = runConnect(context.Background(), []string{"--addr", addr}, strings.NewReader(""), io.Discard, io.Discard)
		require.Error(t, err)
		assert.Contains(t, err.Error(), addr)
	})
}

func TestFormatActiveTime(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{999 * time.Millisecond, "0s"},
		{59 * time.Second, "59s"},
		{92*time.Second + 512*time.Millisecond, "1m 32s"},
		{time.Hour, "1h 0m 0s"},
		{3*time.Hour + 4*time.Minute + 5*time.Second, "3h 4m 5s"},
		{-time.Second, "0s"},
	} {
		t.Run(fmt.Sprintf("%v shows as %s", tc.d, tc.want), func(t *testing.T) {
			assert.Equal(t, tc.want, formatActiveTime(tc.d))
		})
	}
}

func TestFormatEvent(t *testing.T) {
	for _, tc := range []struct {
		name, typ, body, want string
	}{
		{"a join lists the members", campbus.EventJoin, `{"group":1,"campId":"J005","members":["J004","J005"]}`,
			`< J005 joined group#1 (members: J004, J005)`},
		{"a checkout says who left", campbus.EventCheckout, `{"group":1,"campId":"J005","reason":"checkout"}`,
			`< J005 left group#1`},
		{"a disconnect says so", campbus.EventCheckout, `{"group":1,"campId":"J005","reason":"disconnect"}`,
			`< J005 left group#1 (disconnected)`},
		{"a peersession names its host", campbus.EventPeerSession, `{"group":1,"host":"J004","maxCount":2}`,
			`< peersession started by J004 (maxCount=2)`},
		{"a message is quoted", campbus.EventMessage, `{"group":1,"from":"J005","text":"반갑습니다","seq":1,"remaining":1}`,
			`< message from J005, "반갑습니다"`},
		{"a complete counts the messages", campbus.EventComplete, `{"group":1,"host":"J004","reason":"complete","messages":2}`,
			`< peersession completed by J004 (2 messages)`},
		{"a complete of one message is singular", campbus.EventComplete, `{"group":1,"host":"J004","reason":"complete","messages":1}`,
			`< peersession completed by J004 (1 message)`},
		{"a host leaving ends the session", campbus.EventComplete, `{"group":1,"host":"J004","reason":"host-left","messages":0}`,
			`< peersession ended, host J004 left (0 messages)`},
		{"a direct is quoted", campbus.EventDirect, `{"from":"J005","text":"hello"}`,
			`< direct from J005, "hello"`},
		{"control characters are escaped", campbus.EventMessage, `{"from":"J005","text":"a\nb\u0007"}`,
			`< message from J005, "a\nb\a"`},
		{"a shutdown", campbus.EventShutdown, `{"reason":"server shutting down"}`,
			`< server shutting down`},
		{"an unknown event is shown raw", "poll", `{"q":"lunch?"}`,
			`< poll event {"q":"lunch?"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := client.Event{Raw: []byte(tc.body)}
			require.NoError(t, json.Unmarshal(ev.Raw, &ev.Event))
			ev.Type = tc.typ
			assert.Equal(t, tc.want, formatEvent(ev))
		})
	}
}

func TestPrintableKeepsHangulAndEscapesControls(t *testing.T) {
	assert.Equal(t, "안녕 hi", printable("안녕 hi"))
	assert.Equal(t, `a\tb\x1b[0m`, printable("a\tb\x1b[0m"))
	assert.Equal(t, `bad\xff`, printable("bad\xff"))
}

func TestCutWordKeepsTheRestOfTheLine(t *testing.T) {
	word, rest := cutWord("  direct J005  two  spaces ")
	assert.Equal(t, "direct", word)
	assert.Equal(t, "J005  two  spaces ", rest)
	word, rest = cutWord("complete")
	assert.Equal(t, "complete", word)
	assert.Equal(t, "", rest)
}
