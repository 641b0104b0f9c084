package tcpfront

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

// Limits of the echo server (MISSION-SPEC.md §1).
const (
	// DefaultEchoTimeout is how long a client that sent fewer than MinEcho
	// bytes may stay quiet before it gets its bytes back and is closed.
	DefaultEchoTimeout = 10 * time.Second
	// MinEcho is how many bytes the server waits for before it echoes.
	MinEcho = 4
	// MaxEcho is the most bytes one connection gets echoed.
	MaxEcho = 1024
)

const (
	// echoLingerMax caps how long a connection that was answered keeps
	// draining its input after the half-close (see lingerClose).
	echoLingerMax = time.Second
	// echoLingerDrainMax caps how many surplus bytes that drain discards.
	echoLingerDrainMax = 64 << 10
)

// Reasons logged when an echo connection ends.
const (
	echoReasonEchoed       = "echoed"           // MinEcho or more bytes arrived
	echoReasonTimeout      = "timeout"          // fewer arrived, then Timeout of quiet
	echoReasonClientClosed = "closed by client" // fewer arrived, then EOF or reset
	echoReasonShutdown     = "server shutdown"  // Serve's context ended first
	echoReasonReadError    = "read error"       // any other read failure
	echoReasonWriteError   = "write error"      // the echo could not be written
)

// EchoServer echoes one chunk of 4 to 1024 bytes per connection, then closes it.
// The zero value is ready to use; one EchoServer may serve several listeners.
type EchoServer struct {
	Timeout time.Duration // how long a client that sent fewer than 4 bytes may stay quiet; 0 means 10s
	Logger  *slog.Logger  // nil means slog.Default()
}

// ListenEcho opens the TCP listener for an echo server on addr
// ("0.0.0.0:2022", or "127.0.0.1:0" in tests).
func ListenEcho(addr string) (net.Listener, error) {
	// Go's net.Listen sets SO_REUSEADDR on Unix listeners (see
	// setDefaultListenerSockopts in package net), so a restarted echo server
	// can bind the port again while old connections sit in TIME_WAIT. Keep
	// using net.Listen, or set the option yourself, to keep that behaviour.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("echo listen %s: %w", addr, err)
	}
	return ln, nil
}

// Serve accepts connections on ln until ctx is done, then closes ln, closes open
// connections and waits for every connection goroutine to end before returning.
// It returns nil after ctx is done, or the accept error that stopped it; in
// both cases ln and every connection are closed when it returns.
// Temporary accept errors (out of file descriptors or memory) are logged and
// retried after a short pause instead.
func (s *EchoServer) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := s.logger()
	conns := &echoConns{open: make(map[net.Conn]struct{})}

	// Closing the listener is what unblocks Accept; closing the connections
	// unblocks their reads and writes.
	closerDone := make(chan struct{})
	go func() {
		defer close(closerDone)
		<-ctx.Done()
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Warn("echo listener close failed", "addr", ln.Addr().String(), "err", err)
		}
		conns.closeAll()
	}()

	var wg sync.WaitGroup
	err := s.acceptLoop(ctx, ln, conns, &wg, log)
	cancel()
	<-closerDone
	wg.Wait()
	return err
}

// acceptLoop accepts connections and starts one goroutine per connection in
// wg until ctx is done (it returns nil) or Accept fails for good.
func (s *EchoServer) acceptLoop(ctx context.Context, ln net.Listener, conns *echoConns, wg *sync.WaitGroup, log *slog.Logger) error {
	timeout := s.timeout()
	return acceptLoop("echo", ln, ctx.Done(), log, func(conn net.Conn) bool {
		if !conns.add(conn) { // shutdown began after Accept returned
			closeEchoConn(conn)
			return false
		}
		wg.Go(func() {
			defer conns.remove(conn)
			serveEchoConn(conn, timeout, log)
		})
		return true
	})
}

// serveEchoConn runs one echo connection from greeting log to close.
func serveEchoConn(conn net.Conn, timeout time.Duration, log *slog.Logger) {
	remote := "unknown"
	defer func() {
		if p := recover(); p != nil {
			log.Error("echo connection panicked", "remote", remote, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	defer closeEchoConn(conn) // after a panic; the normal path closes below

	remote = conn.RemoteAddr().String()
	log = log.With("remote", remote)
	log.Info("echo client connected")

	buf := make([]byte, MaxEcho)
	n, reason, err := readEcho(conn, buf, timeout)
	echoed := 0
	if n > 0 && reason != echoReasonShutdown {
		var werr error
		echoed, werr = writeEcho(conn, buf[:n], timeout)
		switch {
		case errors.Is(werr, net.ErrClosed):
			reason = echoReasonShutdown
		case werr != nil:
			reason, err = echoReasonWriteError, werr
		}
	}
	if reason == echoReasonEchoed || reason == echoReasonTimeout {
		lingerClose(conn, min(timeout, echoLingerMax))
	}
	closeEchoConn(conn)

	attrs := []any{"bytes", echoed, "reason", reason}
	if reason == echoReasonReadError || reason == echoReasonWriteError {
		log.Warn("echo client done", append(attrs, "err", err)...)
		return
	}
	log.Info("echo client done", attrs...)
}

// readEcho reads into buf until at least MinEcho bytes have arrived or the
// reading stops, whichever comes first; buf's length caps the total. Each
// Read may wait timeout, so the timeout counts quiet time, not total time.
// It returns how many bytes arrived, the reason for the log, and the read
// error behind a reason other than echoReasonEchoed.
func readEcho(conn net.Conn, buf []byte, timeout time.Duration) (int, string, error) {
	n := 0
	for n < MinEcho {
		if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return n, readStopReason(err), fmt.Errorf("set read deadline: %w", err)
		}
		m, err := conn.Read(buf[n:])
		n += m
		if err != nil && n < MinEcho {
			return n, readStopReason(err), fmt.Errorf("read: %w", err)
		}
	}
	return n, echoReasonEchoed, nil
}

// readStopReason names why reading stopped with err before MinEcho bytes.
func readStopReason(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return echoReasonClientClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		return echoReasonTimeout
	case errors.Is(err, net.ErrClosed): // only Serve's shutdown closes it early
		return echoReasonShutdown
	default:
		return echoReasonReadError
	}
}

// writeEcho writes p back within timeout and reports how much was written.
func writeEcho(conn net.Conn, p []byte, timeout time.Duration) (int, error) {
	if err := conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return 0, fmt.Errorf("set write deadline: %w", err)
	}
	n, err := conn.Write(p)
	if err != nil {
		return n, fmt.Errorf("write: %w", err)
	}
	return n, nil
}

// lingerClose half-closes conn, so the client reads the echo and then EOF, and
// discards whatever the client still sends for up to linger. Closing a TCP
// socket whose input holds unread bytes (a client that sent more than MaxEcho)
// makes the kernel send RST instead of FIN, and the RST can destroy the echo
// before the client reads it. Errors only end the lingering early: the echo
// was already written, and the caller closes conn next.
func lingerClose(conn net.Conn, linger time.Duration) {
	hc, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		return
	}
	if err := hc.CloseWrite(); err != nil {
		return
	}
	if err := conn.SetReadDeadline(time.Now().Add(linger)); err != nil {
		return
	}
	_, _ = io.CopyN(io.Discard, conn, echoLingerDrainMax)
}

// closeEchoConn closes conn. The error is dropped on purpose: the connection is
// finished either way, and a second Close (after a shutdown) always fails.
func closeEchoConn(conn net.Conn) {
	_ = conn.Close()
}

func (s *EchoServer) timeout() time.Duration {
	if s.Timeout <= 0 {
		return DefaultEchoTimeout
	}
	return s.Timeout
}

func (s *EchoServer) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// echoConns is the set of open connections of one Serve call, so that its
// shutdown can close them.
type echoConns struct {
	mu     sync.Mutex
	closed bool                  // shutdown began; mu must be held
	open   map[net.Conn]struct{} // mu must be held
}

// add records conn, or reports false if shutdown already began.
func (c *echoConns) add(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.open[conn] = struct{}{}
	return true
}

func (c *echoConns) remove(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.open, conn)
}

// closeAll closes every open connection and refuses later adds.
func (c *echoConns) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for conn := range c.open {
		closeEchoConn(conn)
	}
}
