// Package webfront serves campbus to browsers: the browser client (static
// files built into the binary) at GET /, the staff's page at GET /staff, and at GET /ws a WebSocket that
// speaks the protocol as JSON messages (PROTOCOL.md §8), one
// session.Transport per socket, served by the node's session hub like any
// TCP camper.
package webfront

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/campbus/campbus/session"
	"github.com/campbus/campbus/tlsconf"
	"github.com/campbus/campbus/wire"
)

//go:embed static
var static embed.FS

// MaxMessageBytes bounds one WebSocket message; past it the socket is
// closed with 1009.
const MaxMessageBytes = 4096

// Defaults for Options.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPongTimeout  = 60 * time.Second
)

// Options configure a Server.
type Options struct {
	// Origins lists the origins, besides the server's own, whose pages may
	// open a socket ("https://camp.example", or a host pattern such as
	// "*.camp.example"). A request without Origin (not from a browser) is
	// let in.
	Origins []string
	// CampURLs, when set, returns the web addresses the camp's nodes
	// advertise (PROTOCOL.md §11): a page from any of them may open a
	// socket here, as if it were this server's own.
	CampURLs func() []string
	// MaxBodyBytes bounds a request's body, as on TCP.
	MaxBodyBytes int
	// PingInterval is how often the server pings a socket; one that has
	// not answered for PongTimeout is closed (and its camper checked out).
	PingInterval time.Duration
	PongTimeout  time.Duration
	// TLS, when set, serves HTTPS (and so wss://), HTTP/1.1 only: the
	// WebSocket takes over an HTTP/1.1 connection. HandshakeFailed, when
	// set, counts the handshakes that fail.
	TLS             *tls.Config
	HandshakeFailed func(tlsconf.FailureReason)
	Logger          *slog.Logger
}

// Server is the browsers' front-end.
type Server struct {
	opts Options
	hub  *session.Hub
	log  *slog.Logger
	http *http.Server

	wg      sync.WaitGroup // one per socket served
	closing sync.WaitGroup // close handshakes under way
	stop    chan struct{}
	once    sync.Once
}

// New returns a front-end that serves its campers through hub.
func New(hub *session.Hub, opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = wire.DefaultMaxBodyBytes
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	if opts.PongTimeout <= 0 {
		opts.PongTimeout = DefaultPongTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, hub: hub, log: opts.Logger, stop: make(chan struct{})}
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", http.HandlerFunc(s.serveWS))
	mux.Handle("GET /staff", s.securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, "staff.html")
	})))
	mux.Handle("GET /", s.securityHeaders(http.FileServerFS(files)))
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(&errorLog{log: opts.Logger, failed: opts.HandshakeFailed}, "", 0),
	}
	return s
}

// securityHeaders keeps the page to its own scripts, and its sockets to
// its own server and the other nodes of the camp (CampURLs), which it moves
// to when its node is lost (PROTOCOL.md §11). Its icon is a data: URL.
func (s *Server) securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'"+s.campSockets()+
			"; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// campSockets lists, for connect-src, the WebSocket origins of the camp's
// nodes' web addresses (ws:// for http://, wss:// for https://), each
// after a space, sorted and once each.
func (s *Server) campSockets() string {
	if s.opts.CampURLs == nil {
		return ""
	}
	var out []string
	for _, u := range s.opts.CampURLs() {
		o, ok := OriginOf(u)
		if !ok {
			continue
		}
		out = append(out, "ws"+strings.TrimPrefix(o, "http"))
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return ""
	}
	return " " + strings.Join(out, " ")
}

// Serve serves HTTP (HTTPS with Options.TLS) on ln until StopAccepting.
func (s *Server) Serve(ln net.Listener) error {
	if s.opts.TLS != nil {
		cfg := s.opts.TLS.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		// net/http runs each handshake on the connection's own goroutine,
		// within ReadHeaderTimeout.
		ln = tls.NewListener(ln, cfg)
	}
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// serveWS upgrades a request to a WebSocket (refused with 403 when its
// Origin is another site's) and serves its camper until the socket ends.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.stop:
		http.Error(w, "the server is shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	accept := &websocket.AcceptOptions{OriginPatterns: s.opts.Origins}
	if s.campOrigin(r.Header.Get("Origin")) {
		// A page of another node of the camp: checked here, so the
		// library's check (own host, or Origins) is skipped.
		accept.InsecureSkipVerify = true
	}
	ws, err := websocket.Accept(w, r, accept)
	if err != nil {
		s.log.Info("websocket refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "err", err)
		return // Accept wrote the refusal
	}
	ws.SetReadLimit(MaxMessageBytes)
	s.wg.Add(1)
	defer s.wg.Done()
	t := newTransport(ws, r, s.opts.MaxBodyBytes, &s.closing)
	go t.readLoop()
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		s.keepAlive(t)
	}()
	s.hub.Serve(t)
	_ = t.Close(session.CloseNormal) // no-op if the session closed it
	<-pinged
}

// campOrigin reports whether origin is the origin of a web address that a
// node of the camp advertises.
func (s *Server) campOrigin(origin string) bool {
	if origin == "" || s.opts.CampURLs == nil {
		return false
	}
	want, ok := OriginOf(origin)
	if !ok {
		return false
	}
	for _, u := range s.opts.CampURLs() {
		if o, ok := OriginOf(u); ok && o == want {
			return true
		}
	}
	return false
}

// OriginOf returns the origin of an http or https URL, as a browser sends
// it in Origin: scheme://host[:port], lower case, without the scheme's
// default port; ok is false for anything else.
func OriginOf(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host, true
}

// keepAlive pings the socket every PingInterval until it closes; a socket
// that does not answer within PongTimeout is closed at once, which ends
// its session (the camper is checked out as after any disconnect).
func (s *Server) keepAlive(t *transport) {
	tick := time.NewTicker(s.opts.PingInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.PongTimeout)
		err := t.ws.Ping(ctx)
		cancel()
		if err != nil {
			select {
			case <-t.done:
			default:
				s.log.Info("websocket closed: no answer to ping", "remote", t.remote, "err", err)
			}
			_ = t.ws.CloseNow()
			return
		}
	}
}

// StopAccepting stops taking requests and sockets. Open sockets stay
// until the hub ends their sessions.
func (s *Server) StopAccepting() {
	s.once.Do(func() {
		close(s.stop)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		// Sockets are hijacked: Shutdown closes the listeners and the
		// plain HTTP connections only.
		_ = s.http.Shutdown(ctx)
	})
}

// Wait waits until every socket is done and closed, or ctx ends.
func (s *Server) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.wg.Wait(); s.closing.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("webfront: sockets still open: %w", ctx.Err())
	}
}
