package tcpfront

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// echoWait bounds every wait in these tests; nothing should come near it.
const echoWait = 5 * time.Second

func TestEchoServerRoundTrips(t *testing.T) {
	hello := []byte("Hello World")
	big := bytes.Repeat([]byte("0123456789abcdef"), 3000/16+1)[:3000]
	tests := []struct {
		name       string
		timeout    time.Duration
		pieces     [][]byte // written one Write each
		closeWrite bool     // half-close after the pieces
		minEcho    int      // echo is a prefix of the pieces, this long at least
		maxEcho    int      // and this long at most
		reason     string
	}{
		{name: "Hello World comes back whole, then EOF",
			pieces: [][]byte{hello}, minEcho: len(hello), maxEcho: len(hello), reason: "echoed"},
		{name: "two bytes and silence come back after the timeout",
			timeout: 200 * time.Millisecond, pieces: [][]byte{[]byte("hi")},
			minEcho: 2, maxEcho: 2, reason: "timeout"},
		{name: "a silent client is closed after the timeout with nothing echoed",
			timeout: 200 * time.Millisecond, minEcho: 0, maxEcho: 0, reason: "timeout"},
		{name: "3000 bytes get at most the first 1024 back",
			pieces: [][]byte{big}, minEcho: MinEcho, maxEcho: MaxEcho, reason: "echoed"},
		{name: "four 1-byte pieces add up to one echo",
			pieces: echoBytePieces(t, "abcd"), minEcho: 4, maxEcho: 4, reason: "echoed"},
		{name: "ten 1-byte pieces get at least four back",
			pieces: echoBytePieces(t, "abcdefghij"), minEcho: 4, maxEcho: 10, reason: "echoed"},
		{name: "three bytes and a half-close still come back",
			pieces: [][]byte{[]byte("abc")}, closeWrite: true, minEcho: 3, maxEcho: 3, reason: "closed by client"},
		{name: "a half-close with nothing sent gets EOF",
			closeWrite: true, minEcho: 0, maxEcho: 0, reason: "closed by client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkEchoLeaks(t)
			h := startEcho(t, listenEchoLocal(t), tc.timeout)
			client := dialEcho(t, h.addr)

			var sent []byte
			for _, p := range tc.pieces {
				_, err := client.Write(p)
				require.NoError(t, err, "write %q", p)
				sent = append(sent, p...)
			}
			if tc.closeWrite {
				require.NoError(t, client.CloseWrite())
			}
			got := readEchoToEOF(t, client)

			assert.GreaterOrEqual(t, len(got), tc.minEcho, "echo %q is too short", got)
			assert.LessOrEqual(t, len(got), tc.maxEcho, "echo %q is too long", got)
			assert.True(t, bytes.HasPrefix(sent, got), "echo %q is not a prefix of what was sent", got)

			require.NoError(t, h.stop())
			remote := client.LocalAddr().String()
			h.requireLog(t, "echo client connected", map[string]any{"remote": remote})
			h.requireLog(t, "echo client done",
				map[string]any{"remote": remote, "bytes": float64(len(got)), "reason": tc.reason})
		})
	}
}

func TestEchoServerWaitsOutTheTimeoutBeforeEchoing(t *testing.T) {
	checkEchoLeaks(t)
	const timeout = 200 * time.Millisecond
	h := startEcho(t, listenEchoLocal(t), timeout)
	// The server's clock may start when it accepts, a moment before the
	// write: measure from before the dial, which no echo can precede.
	began := time.Now()
	client := dialEcho(t, h.addr)

	_, err := client.Write([]byte("hi"))
	require.NoError(t, err)
	got := readEchoToEOF(t, client)

	assert.Equal(t, "hi", string(got))
	assert.GreaterOrEqual(t, time.Since(began), timeout, "the echo came before the client was quiet for the timeout")
}

// TestEchoServerGathersPiecesAcrossReads uses net.Pipe, where each Read
// returns at most one Write's bytes, so every piece is a separate Read.
func TestEchoServerGathersPiecesAcrossReads(t *testing.T) {
	tests := []struct {
		name   string
		pieces []string
		want   string
	}{
		{"four 1-byte reads make one echo", []string{"a", "b", "c", "d"}, "abcd"},
		{"two then 1-byte reads make one echo", []string{"ab", "c", "d"}, "abcd"},
		{"a read past four is echoed whole", []string{"a", "bcdef"}, "abcdef"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkEchoLeaks(t)
			ln := newEchoPipeListener()
			h := startEcho(t, ln, 0)
			client := ln.dial(t)

			for _, p := range tc.pieces {
				_, err := client.Write([]byte(p))
				require.NoError(t, err, "write %q", p)
			}
			assert.Equal(t, tc.want, string(readEchoToEOF(t, client)))

			require.NoError(t, h.stop())
			h.requireLog(t, "echo client done",
				map[string]any{"remote": "pipe", "bytes": float64(len(tc.want)), "reason": "echoed"})
		})
	}
}

func TestEchoServerShutdownClosesIdleConnections(t *testing.T) {
	checkEchoLeaks(t)
	ln := listenEchoLocal(t)
	h := startEcho(t, ln, time.Hour)
	quiet := dialEcho(t, h.addr)
	silent := dialEcho(t, h.addr)
	_, err := quiet.Write([]byte("ab"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return h.countLog("echo client connected") == 2 },
		echoWait, 5*time.Millisecond, "the server never logged both clients")

	require.NoError(t, h.stop(), "Serve after cancel")

	for _, c := range []*net.TCPConn{quiet, silent} {
		// Closing a socket whose input still holds unread bytes sends RST
		// rather than FIN, and Serve may close quiet before it read "ab".
		require.NoError(t, c.SetReadDeadline(time.Now().Add(echoWait)))
		got, err := io.ReadAll(c)
		if !errors.Is(err, syscall.ECONNRESET) {
			require.NoError(t, err, "read until the server closes")
		}
		assert.Empty(t, got, "an interrupted client gets no echo")
	}
	_, err = ln.Accept()
	assert.ErrorIs(t, err, net.ErrClosed, "Serve must close its listener")
	assert.Equal(t, 2, h.countLog("echo client done"))
	h.requireLog(t, "echo client done", map[string]any{"reason": "server shutdown", "bytes": float64(0)})
}

func TestEchoServerReturnsTheAcceptErrorThatStoppedIt(t *testing.T) {
	checkEchoLeaks(t)
	broken := errors.New("listener broke")
	ln := &failingEchoListener{Listener: listenEchoLocal(t), errs: make(chan error, 1)}
	ln.errs <- broken

	srv := &EchoServer{Logger: discardEchoLogger()}
	err := srv.Serve(context.Background(), ln)

	require.ErrorIs(t, err, broken)
	_, err = ln.Listener.Accept()
	assert.ErrorIs(t, err, net.ErrClosed, "Serve must close its listener")
}

func TestEchoServerRetriesTemporaryAcceptErrors(t *testing.T) {
	checkEchoLeaks(t)
	ln := &failingEchoListener{Listener: listenEchoLocal(t), errs: make(chan error, 2)}
	for range 2 {
		ln.errs <- &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept", syscall.EMFILE)}
	}
	h := startEcho(t, ln, 0)
	client := dialEcho(t, h.addr)

	_, err := client.Write([]byte("Hello World"))
	require.NoError(t, err)
	assert.Equal(t, "Hello World", string(readEchoToEOF(t, client)))

	require.NoError(t, h.stop())
	assert.Equal(t, 2, h.countLog("echo accept failed, retrying"))
}

func TestEchoServerRecoversFromAPanickingConnection(t *testing.T) {
	checkEchoLeaks(t)
	ln := &panickingEchoListener{Listener: listenEchoLocal(t)}
	h := startEcho(t, ln, 0)

	doomed := dialEcho(t, h.addr)
	assert.Empty(t, readEchoToEOF(t, doomed), "the panicking connection is closed")

	client := dialEcho(t, h.addr)
	_, err := client.Write([]byte("still here"))
	require.NoError(t, err)
	assert.Equal(t, "still here", string(readEchoToEOF(t, client)), "the server keeps serving")

	require.NoError(t, h.stop())
	h.requireLog(t, "echo connection panicked",
		map[string]any{"remote": doomed.LocalAddr().String(), "panic": "test panic in Read"})
}

func TestEchoServerDefaults(t *testing.T) {
	var s EchoServer
	assert.Equal(t, DefaultEchoTimeout, s.timeout(), "zero Timeout")
	assert.Same(t, slog.Default(), s.logger(), "nil Logger")
	s = EchoServer{Timeout: time.Second}
	assert.Equal(t, time.Second, s.timeout())
}

// checkEchoLeaks fails t if goroutines started during t outlive it. Call it
// first: cleanups run last-registered first, so the check runs after every
// later cleanup (clients closed, server stopped). Goroutines that existed
// before t, such as other tests' servers, are ignored.
func checkEchoLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// echoHarness is an EchoServer serving in a goroutine, logging JSON to logs.
type echoHarness struct {
	addr     string
	logs     *echoLogBuffer
	cancel   context.CancelFunc
	served   chan error
	stopOnce sync.Once
	stopErr  error
}

// startEcho serves ln with the given Timeout until the test ends or stop.
func startEcho(t *testing.T, ln net.Listener, timeout time.Duration) *echoHarness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &echoHarness{addr: ln.Addr().String(), logs: &echoLogBuffer{}, cancel: cancel, served: make(chan error, 1)}
	srv := &EchoServer{Timeout: timeout, Logger: slog.New(slog.NewJSONHandler(h.logs, nil))}
	go func() { h.served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { assert.NoError(t, h.stop(), "Serve") })
	return h
}

// stop cancels Serve's context and returns what Serve returned.
func (h *echoHarness) stop() error {
	h.stopOnce.Do(func() {
		h.cancel()
		select {
		case h.stopErr = <-h.served:
		case <-time.After(echoWait):
			h.stopErr = errors.New("Serve did not return after its context was cancelled")
		}
	})
	return h.stopErr
}

// records returns the log records whose msg is msg.
func (h *echoHarness) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var found []map[string]any
	for line := range strings.Lines(h.logs.String()) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "log line %q", line)
		if rec["msg"] == msg {
			found = append(found, rec)
		}
	}
	return found
}

func (h *echoHarness) countLog(msg string) int {
	return strings.Count(h.logs.String(), `"msg":"`+msg+`"`)
}

// requireLog fails t unless a record with msg has all of attrs.
func (h *echoHarness) requireLog(t *testing.T, msg string, attrs map[string]any) {
	t.Helper()
	recs := h.records(t, msg)
	for _, rec := range recs {
		matches := true
		for k, v := range attrs {
			matches = matches && rec[k] == v
		}
		if matches {
			return
		}
	}
	require.Failf(t, "log record missing", "want msg %q with %v; records with that msg: %v; whole log:\n%s",
		msg, attrs, recs, h.logs.String())
}

func listenEchoLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := ListenEcho("127.0.0.1:0")
	require.NoError(t, err)
	return ln
}

func dialEcho(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, echoWait)
	require.NoError(t, err, "dial %s", addr)
	t.Cleanup(func() { closeEchoConn(conn) })
	return conn.(*net.TCPConn)
}

// readEchoToEOF reads conn until EOF, failing t on any error or after echoWait.
func readEchoToEOF(t *testing.T, conn net.Conn) []byte {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(echoWait)))
	got, err := io.ReadAll(conn)
	require.NoError(t, err, "read until EOF; got %q so far", got)
	return got
}

func echoBytePieces(t *testing.T, s string) [][]byte {
	t.Helper()
	var pieces [][]byte
	for i := range len(s) {
		pieces = append(pieces, []byte{s[i]})
	}
	return pieces
}

func discardEchoLogger() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}

// echoLogBuffer is a bytes.Buffer safe for the server's goroutines to log into.
type echoLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // mu must be held
}

func (b *echoLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *echoLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failingEchoListener returns the errors queued in errs from Accept before it
// accepts for real.
type failingEchoListener struct {
	net.Listener
	errs chan error
}

func (l *failingEchoListener) Accept() (net.Conn, error) {
	select {
	case err := <-l.errs:
		return nil, err
	default:
		return l.Listener.Accept()
	}
}

// panickingEchoListener hands out a first connection whose Read panics.
type panickingEchoListener struct {
	net.Listener
	accepted atomic.Int32
}

func (l *panickingEchoListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil && l.accepted.Add(1) == 1 {
		return panickingEchoConn{conn}, nil
	}
	return conn, err
}

type panickingEchoConn struct{ net.Conn }

func (panickingEchoConn) Read([]byte) (int, error) { panic("test panic in Read") }

// echoPipeListener accepts the server ends of net.Pipe connections made by dial.
type echoPipeListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newEchoPipeListener() *echoPipeListener {
	return &echoPipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *echoPipeListener) Accept() (net.Conn, error) {
	select {
	case conn := <-l.conns:
		return conn, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *echoPipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *echoPipeListener) Addr() net.Addr { return echoPipeAddr{} }

// dial hands the server end of a new pipe to Accept and returns the client end.
func (l *echoPipeListener) dial(t *testing.T) net.Conn {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { closeEchoConn(client) })
	select {
	case l.conns <- server:
	case <-time.After(echoWait):
		t.Fatal("the server did not accept the pipe")
	}
	return client
}

type echoPipeAddr struct{}

func (echoPipeAddr) Network() string { return "pipe" }
func (echoPipeAddr) String() string  { return "pipe" }
