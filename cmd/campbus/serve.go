package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/handlers"
	"github.com/campbus/campbus/liveness"
	"github.com/campbus/campbus/node"
	sessions "github.com/campbus/campbus/session"
	"github.com/campbus/campbus/tcpfront"
	"github.com/campbus/campbus/wire"
)

const serveUsage = `Usage: campbus serve [flags]

Runs the check-in and group-messaging server: campers connect over TCP
(--addr), and an embedded NATS server carries requests and events; anyone
may watch it on --nats-addr with the nats CLI.

Examples:
  campbus serve
  campbus serve --addr 127.0.0.1:2022 --camp-ids J00001-J20000 --group-size 4
  campbus serve --nats-addr "" --data-dir /var/lib/campbus
  campbus serve --node-name n1 --cluster-addr 127.0.0.1:6222 \
      --routes nats://127.0.0.1:6223,nats://127.0.0.1:6224
  CAMPBUS_AUTH_SECRET="$(cat camp.secret)" campbus serve   # campers need tokens: campbus token
  campbus serve --tls-cert cert.pem --tls-key key.pem
  CAMPBUS_CLUSTER_SECRET=... campbus serve --node-name n1 --cluster-addr 10.0.0.1:6222 \
      --routes nats://10.0.0.2:6222,nats://10.0.0.3:6222 \
      --cluster-tls-cert n1.pem --cluster-tls-key n1-key.pem --cluster-tls-ca ca.pem

Flags:
`

// shutdownTimeout bounds a graceful shutdown after SIGINT or SIGTERM.
const shutdownTimeout = 30 * time.Second

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	setUsage(fs, stderr, serveUsage)
	var (
		opts     node.Options
		campIDs  string
		logLevel string
	)
	fs.StringVar(&opts.Addr, "addr", "0.0.0.0:2022", "campers' TCP address")
	fs.StringVar(&opts.Advertise, "advertise", "", `campers' address (host:port) that a cluster's checkin responses give for this node (default: --addr, a host of 0.0.0.0 or :: replaced by this machine's name)`)
	fs.StringVar(&opts.NATSAddr, "nats-addr", "127.0.0.1:4222", `observers' NATS client address ("" turns it off)`)
	fs.StringVar(&opts.WebAddr, "web-addr", "0.0.0.0:8080", `browsers' address (where the campers' port listens by default, so campers on other machines open the pages): the browser client at /, the staff page at /staff and their WebSocket at /ws ("" turns it off)`)
	fs.StringVar(&opts.WebAdvertise, "web-advertise", "", `base URL of this node's web front that a cluster's checkin responses give, e.g. https://n1.camp.example:8080 (default: http:// or https:// with TLS, then --web-addr, its host replaced as for --advertise)`)
	var webOrigins string
	fs.StringVar(&webOrigins, "web-origins", "", "other sites whose pages may open a WebSocket, comma-separated: https://camp.example,*.camp.example")
	fs.StringVar(&opts.MonitorAddr, "monitor-addr", "127.0.0.1:8222", `HTTP address of /metrics, /healthz and NATS's /varz, /connz, /jsz... ("" turns it off)`)
	fs.StringVar(&opts.DataDir, "data-dir", defaultDataDir(), "directory for the event log and state (created if missing)")
	fs.StringVar(&campIDs, "camp-ids", campbus.DefaultCampIDs, "range of camp ids admitted; its bounds set the letters and the number of digits")
	fs.IntVar(&opts.GroupSize, "group-size", handlers.DefaultGroupSize, "campers per group")
	fs.StringVar(&opts.Name, "node-name", "campbus", "name of this node on the bus (unique in a cluster)")
	var routes string
	fs.StringVar(&opts.ClusterAddr, "cluster-addr", "", `this node's cluster (NATS route) address, e.g. 127.0.0.1:6222; "" runs alone`)
	fs.StringVar(&routes, "routes", "", "the other nodes' cluster URLs, comma-separated: nats://host2:6222,nats://host3:6222")
	fs.DurationVar(&opts.Heartbeat, "heartbeat", liveness.DefaultInterval, "how often a clustered node tells the others it is alive")
	fs.DurationVar(&opts.NodeTimeout, "node-timeout", liveness.DefaultTimeout, "a node silent this long, that also fails a direct check, is lost: its campers are checked out by a majority of the others")
	fs.IntVar(&opts.Log.Replicas, "replicas", 0, "replicas of the event log and state (0: 3 in a cluster of 3 or more nodes, else as many nodes as there are)")
	fs.StringVar(&opts.OperatorPassword, "operator-password", "",
		`password of NATS users "operator" (app streams, publishing) and "sys" (system account); best given as CAMPBUS_OPERATOR_PASSWORD`)
	fs.StringVar(&opts.AuthSecret, "auth-secret", "",
		"secret (16 bytes or more) that signs campers' tokens: checkin then needs one, minted by campbus token, and NATS observers see group.> alone; the same on every node; best given as CAMPBUS_AUTH_SECRET")
	fs.StringVar(&opts.TLSCert, "tls-cert", "", "PEM certificate (chain) of the campers' port and the web port, which then speak TLS and HTTPS (with --tls-key); read again when the file changes")
	fs.StringVar(&opts.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&opts.ClusterSecret, "cluster-secret", "", "secret every route between nodes must carry, the same on every node: a server without it is refused; best given as CAMPBUS_CLUSTER_SECRET")
	fs.StringVar(&opts.ClusterTLSCert, "cluster-tls-cert", "", "PEM certificate this node shows on its routes, both ways: mutual TLS (with --cluster-tls-key and --cluster-tls-ca)")
	fs.StringVar(&opts.ClusterTLSKey, "cluster-tls-key", "", "PEM private key of --cluster-tls-cert")
	fs.StringVar(&opts.ClusterTLSCA, "cluster-tls-ca", "", "PEM CA certificate(s): a route is let in only with a certificate it signed")
	front, sess := &opts.Front, &opts.Sessions
	fs.IntVar(&front.Limits.MaxHeaderBytes, "max-header-bytes", wire.DefaultMaxHeaderBytes, "limit on a request's start line and fields")
	fs.IntVar(&front.Limits.MaxBodyBytes, "max-body-bytes", wire.DefaultMaxBodyBytes, "limit on a request's body")
	fs.IntVar(&sess.OutboundFrames, "outbound-frames", sessions.DefaultOutboundFrames, "frames queued for one camper before it counts as too slow and is disconnected")
	fs.IntVar(&sess.OutboundBytes, "outbound-bytes", sessions.DefaultOutboundBytes, "bytes queued for one camper before it counts as too slow and is disconnected")
	fs.DurationVar(&sess.WriteTimeout, "write-timeout", sessions.DefaultWriteTimeout, "a camper whose connection accepts nothing for this long is disconnected")
	fs.IntVar(&sess.MaxConns, "max-conns", sessions.DefaultMaxConns, "connections held at once, over every transport; past it a new one gets 503 too-many-connections")
	fs.DurationVar(&sess.CheckinTimeout, "checkin-timeout", sessions.DefaultCheckinTimeout, "a connection that has not checked in this long after opening is closed")
	fs.DurationVar(&front.FrameTimeout, "frame-timeout", tcpfront.DefaultFrameTimeout, "a frame begun but not finished within this time closes the connection")
	fs.Float64Var(&sess.Rate, "rate", 50, "requests per second allowed per connection on average (0: no limit); past it 429 rate-limited")
	fs.IntVar(&sess.Burst, "burst", 100, "requests per connection allowed at once above --rate")
	fs.Int64Var(&opts.Log.GroupEvents, "log-group-events", bus.DefaultGroupEvents, "events kept in the log per group (the oldest go first; a group's last event is always kept)")
	fs.DurationVar(&opts.Log.DirectMaxAge, "log-max-age", 0, "drop directs older than this from the event log (0 keeps them)")
	fs.Int64Var(&opts.Log.DirectMaxBytes, "log-max-bytes", 1<<30, "cap on the bytes of directs in the event log (the oldest go first; at most a quarter of --max-store)")
	fs.Int64Var(&opts.Log.MaxStore, "max-store", 0, "disk budget of the event log in bytes, shared by every stream and bucket; past it writes get 507 storage-full (0: half the room in --data-dir at start)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	for _, r := range strings.Split(routes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			opts.Routes = append(opts.Routes, r)
		}
	}
	for _, o := range strings.Split(webOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			opts.WebOrigins = append(opts.WebOrigins, o)
		}
	}
	if len(opts.Routes) > 0 && opts.ClusterAddr == "" {
		return errors.New("serve: --routes needs --cluster-addr")
	}
	var err error
	if opts.CampIDs, err = campbus.ParseIDRange(campIDs); err != nil {
		return err
	}
	if opts.GroupSize < 1 {
		return fmt.Errorf("serve: --group-size must be at least 1")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("serve: --log-level: %w", err)
	}
	opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	n, err := node.Start(ctx, opts)
	if err != nil {
		return err
	}
	<-ctx.Done()
	opts.Logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		return err
	}
	opts.Logger.Info("stopped")
	return nil
}

// defaultDataDir is $XDG_DATA_HOME/campbus, or ~/.local/share/campbus.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); strings.HasPrefix(d, "/") {
		return filepath.Join(d, "campbus")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "campbus")
	}
	return filepath.Join(os.TempDir(), "campbus")
}
