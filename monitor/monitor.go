// Package monitor serves a campbus node's insides over HTTP: Prometheus
// metrics at /metrics, readiness at /healthz, and the embedded NATS server's
// own monitoring endpoints (/varz, /connz, /routez, /subsz, /jsz, /accountz,
// /raftz) as `nats-server -m` would.
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are what the metrics and the health check read from the node.
type Sources struct {
	NATS *server.Server
	// Ready returns nil when the node serves: bus, JetStream and listener up.
	Ready func(ctx context.Context) error
	// Electing lists what of the camp's replicated state has no leader
	// right now, as this node sees it (nil for a node alone).
	Electing func(ctx context.Context) []string
	// Gauges read when scraped.
	Conns     func() int
	CheckedIn func(ctx context.Context) (int, error)
	Groups    func() (groups, sessions int)
	// Drops returns the front-end's counters of refusals and cuts by reason.
	Drops func() map[string]uint64
	// Store returns the bytes the event log holds, its budget, and whether
	// it is full (writes refused with 507), as last looked at.
	Store func() (used, budget int64, full bool)
	// RouteConnectFailures returns how many attempts of the embedded NATS
	// server to connect to another node's route have failed.
	RouteConnectFailures func() uint64
}

func (src Sources) electing(ctx context.Context) []string {
	if src.Electing == nil {
		return nil
	}
	return src.Electing(ctx)
}

// Server is the monitoring HTTP server.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Start listens on addr and serves the endpoints with the metrics m.
func Start(addr string, m *Metrics, src Sources, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("monitor: listen %s: %w", addr, err)
	}
	m.register(src)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := src.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "error": err.Error()})
			return
		}
		if electing := src.electing(ctx); len(electing) > 0 {
			// Serving, though some requests get 503 unavailable until
			// the election ends: ready for a load balancer.
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "electing", "electing": electing,
				"reason": "the camp is electing leaders after losing a node; requests that need them get 503 unavailable meanwhile"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	})
	ns := src.NATS
	for path, h := range map[string]http.HandlerFunc{
		"/varz": ns.HandleVarz, "/connz": ns.HandleConnz, "/routez": ns.HandleRoutez,
		"/subsz": ns.HandleSubsz, "/jsz": ns.HandleJsz, "/accountz": ns.HandleAccountz,
		"/raftz": ns.HandleRaftz,
	} {
		mux.HandleFunc("GET "+path, h)
	}
	s := &Server{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the address it listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops the server, waiting for requests in hand until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
