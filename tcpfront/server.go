// Package tcpfront holds campbus's TCP listeners: the campers' front-end,
// which reads wire frames (package wire) from each connection and hands
// them, as a session.Transport, to the node's session hub; and the echo
// server.
package tcpfront

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/campbus/campbus/session"
	"github.com/campbus/campbus/tlsconf"
	"github.com/campbus/campbus/wire"
)

// Options configure a front-end Server.
type Options struct {
	// Limits bound request frames.
	Limits wire.Limits
	// FrameTimeout closes a connection that starts a frame and does not
	// finish it within this time (slowloris).
	FrameTimeout time.Duration
	// KeepAlive is the TCP keepalive period, which finds peers that vanished
	// without a word.
	KeepAlive time.Duration
	// TLS, when set, makes the port speak TLS: each connection's handshake
	// runs first, on its own goroutine, and must end within HandshakeTimeout
	// for its session to start. HandshakeFailed, when set, counts those
	// that fail.
	TLS              *tls.Config
	HandshakeTimeout time.Duration
	HandshakeFailed  func(tlsconf.FailureReason)
	Logger           *slog.Logger
}

// Defaults for Options.
const (
	DefaultFrameTimeout = 10 * time.Second
	DefaultKeepAlive    = 30 * time.Second
	// DefaultHandshakeTimeout bounds a TLS handshake, as FrameTimeout a frame.
	DefaultHandshakeTimeout = 10 * time.Second
	writeBufferSize         = 16 << 10
	// writeChunk bounds the bytes of one write system call on plain TCP.
	writeChunk = 64 << 10
)

// Server is the campers' TCP front-end.
type Server struct {
	opts Options
	hub  *session.Hub
	log  *slog.Logger

	wg sync.WaitGroup // one per connection served
	// writeBuffers lends connections a write buffer while they write;
	// readers, a read buffer while they read (see transport.waitReadable).
	writeBuffers sync.Pool
	readers      *wire.ReaderPool

	stopOnce      sync.Once
	stopAccepting chan struct{}
	// stopped ends the handshakes under way when the server stops accepting.
	stopped   context.Context
	stop      context.CancelFunc
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
}

// New returns a front-end that serves its campers through hub.
func New(hub *session.Hub, opts Options) *Server {
	if opts.FrameTimeout <= 0 {
		opts.FrameTimeout = DefaultFrameTimeout
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = DefaultKeepAlive
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	stopped, stop := context.WithCancel(context.Background())
	s := &Server{
		stopped:       stopped,
		stop:          stop,
		opts:          opts,
		hub:           hub,
		log:           opts.Logger,
		stopAccepting: make(chan struct{}),
		listeners:     map[net.Listener]struct{}{},
	}
	s.writeBuffers.New = func() any { return bufio.NewWriterSize(nil, writeBufferSize) }
	s.readers = wire.NewReaderPool(opts.Limits)
	return s
}

// Serve accepts connections on ln until ln is closed (by StopAccepting or
// the caller). It returns nil once the server stops accepting.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	select {
	case <-s.stopAccepting:
		s.mu.Unlock()
		ln.Close()
		return nil
	default:
	}
	s.listeners[ln] = struct{}{}
	// The accept loop counts as one of the server's goroutines, so that
	// the count is never zero while it may add a connection: Wait may
	// then run at any time.
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		s.wg.Done()
	}()
	return acceptLoop("campers", ln, s.stopAccepting, s.log, func(nc net.Conn) bool {
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetKeepAlive(true)
			_ = tc.SetKeepAlivePeriod(s.opts.KeepAlive)
		}
		s.wg.Add(1) // until the connection is closed
		go func() {
			if s.opts.TLS != nil {
				var ok bool
				if nc, ok = s.handshake(nc); !ok {
					s.wg.Done()
					return
				}
			}
			t := newTransport(nc, s)
			t.closed = s.wg.Done
			s.hub.Serve(t) // closes t
		}()
		return true
	})
}

// StopAccepting closes the listeners: no new campers. Those connected stay
// until the hub ends their sessions.
func (s *Server) StopAccepting() {
	s.stopOnce.Do(func() {
		close(s.stopAccepting)
		s.stop()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.listeners {
		ln.Close()
	}
}

// Wait waits until every connection this server accepted is done, or ctx
// ends.
func (s *Server) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("tcpfront: connections still open: %w", ctx.Err())
	}
}
