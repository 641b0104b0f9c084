// Package node runs one campbus node: the embedded NATS bus, the command
// handlers and the TCP front-end, started in that order and stopped in the
// reverse one. Tests start nodes in-process on random ports with the same
// constructor as `campbus serve`.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/handlers"
	"github.com/campbus/campbus/monitor"
	"github.com/campbus/campbus/tcpfront"
)

// Options configure a node. The zero value of each field takes its default.
type Options struct {
	// Name names the node on the bus. Default "campbus".
	Name string
	// Addr is the campers' TCP address. Default 0.0.0.0:2022.
	Addr string
	// NATSAddr is the observers' NATS client port; "" turns it off.
	NATSAddr string
	// DataDir keeps the JetStream files; it is created if missing.
	DataDir string
	// OperatorPassword admits user "operator" on the NATS port with full rights.
	OperatorPassword string

	// ClusterAddr makes the node one of a cluster (host:port of its NATS
	// route listener; port 0 picks one); Routes are the other nodes' route
	// URLs. "" runs a single node.
	ClusterAddr string
	Routes      []string
	// Heartbeat is how often the node tells the others it is alive; a node
	// silent for Log.NodeTTL has its campers checked out by the others.
	Heartbeat time.Duration

	// MonitorAddr serves /metrics, /healthz and NATS's monitoring
	// endpoints; "" turns it off.
	MonitorAddr string

	CampIDs   campbus.IDRange
	GroupSize int
	// Front configures the TCP front-end: frame limits, queues, timeouts,
	// connection and rate limits. Its NodeName and Logger are the node's.
	Front tcpfront.Options
	// Log sets the event log's retention (events kept per group, the age and
	// size limits of the directs), the replicas of every stream and bucket
	// (0: min(3, nodes named by Routes + 1) in a cluster, 1 alone) and the
	// nodes' heartbeat TTL.
	Log bus.StreamOptions

	Logger *slog.Logger
}

// Node is a running campbus node.
type Node struct {
	opts               Options
	log                *slog.Logger
	bus                *bus.Bus
	handlerNC, frontNC *nats.Conn
	handlers           *handlers.Service
	front              *tcpfront.Server
	ln                 net.Listener
	served             chan error

	stopLiveness context.CancelFunc
	livenessDone chan struct{}
	monitor      *monitor.Server
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Start starts a node and returns once it accepts campers.
func Start(ctx context.Context, opts Options) (n *Node, err error) {
	if opts.Name == "" {
		opts.Name = "campbus"
	}
	if opts.Addr == "" {
		opts.Addr = "0.0.0.0:2022"
	}
	if opts.CampIDs.Width == 0 {
		opts.CampIDs = campbus.MustParseIDRange(campbus.DefaultCampIDs)
	}
	if opts.GroupSize <= 0 {
		opts.GroupSize = handlers.DefaultGroupSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DataDir == "" {
		return nil, errors.New("node: a data directory is required")
	}
	if !validName.MatchString(opts.Name) {
		return nil, fmt.Errorf("node: name %q: use letters, digits, '-' and '_'", opts.Name)
	}
	if opts.Log.Replicas <= 0 {
		// Log.Replicas 0 picks min(3, nodes named by Routes + 1) in a
		// cluster and 1 alone.
		opts.Log.Replicas = 1
		if opts.ClusterAddr != "" {
			opts.Log.Replicas = min(3, len(opts.Routes)+1)
		}
	}
	if opts.Log.NodeTTL <= 0 {
		opts.Log.NodeTTL = bus.DefaultNodeTTL
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = opts.Log.NodeTTL / 3
	}
	if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("node: data directory: %w", err)
	}
	started := &Node{opts: opts, log: opts.Logger, served: make(chan error, 1)}
	n = started
	defer func() {
		if err != nil {
			// n is nil by now (return nil, err): close through started.
			started.close()
		}
	}()

	n.bus, err = bus.Start(bus.Options{
		ServerName:       opts.Name,
		ListenAddr:       opts.NATSAddr,
		DataDir:          opts.DataDir,
		OperatorPassword: opts.OperatorPassword,
		ClusterAddr:      opts.ClusterAddr,
		Routes:           opts.Routes,
		Logger:           opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	if n.handlerNC, err = n.bus.Connect(opts.Name + "-handlers"); err != nil {
		return nil, err
	}
	if n.frontNC, err = n.bus.Connect(opts.Name + "-front"); err != nil {
		return nil, err
	}
	js, err := jetstream.New(n.handlerNC)
	if err != nil {
		return nil, fmt.Errorf("node: jetstream: %w", err)
	}
	streams, err := bus.EnsureStreams(ctx, js, opts.Log)
	if err != nil {
		return nil, err
	}
	n.handlers, err = handlers.New(n.handlerNC, js, streams, handlers.Options{
		NodeName:  opts.Name,
		CampIDs:   opts.CampIDs,
		GroupSize: opts.GroupSize,
		Logger:    opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	// Nobody is connected yet: every camper the log still shows as checked
	// in on this node is left over from a previous run, and so is every
	// camper of a node that is not alive.
	if err := n.handlers.Beat(ctx); err != nil {
		return nil, err
	}
	stale, err := n.handlers.SweepAtStart(ctx)
	if err != nil {
		return nil, err
	}
	if stale > 0 {
		n.log.Info("checked out campers left from a previous run or a lost node", "count", stale)
	}
	if err := n.handlers.Start(); err != nil {
		return nil, err
	}
	lctx, stopLiveness := context.WithCancel(context.Background())
	n.livenessDone = make(chan struct{})
	n.stopLiveness = stopLiveness
	go func() {
		defer close(n.livenessDone)
		n.handlers.RunLiveness(lctx, opts.Heartbeat)
	}()
	front := opts.Front
	front.NodeName, front.Logger = opts.Name, opts.Logger
	var metrics *monitor.Metrics
	if opts.MonitorAddr != "" {
		metrics = monitor.NewMetrics()
		front.Observer = metrics
	}
	n.front = tcpfront.New(n.frontNC, front)
	if err := n.front.Start(); err != nil {
		return nil, err
	}
	// Go's net.Listen sets SO_REUSEADDR on TCP listeners, so a restarted
	// server can bind the port while old connections sit in TIME_WAIT.
	if n.ln, err = net.Listen("tcp", opts.Addr); err != nil {
		return nil, fmt.Errorf("node: listen %s: %w", opts.Addr, err)
	}
	go func() { n.served <- n.front.Serve(n.ln) }()
	if metrics != nil {
		n.monitor, err = monitor.Start(opts.MonitorAddr, metrics, monitor.Sources{
			NATS:      n.bus.Server(),
			Ready:     n.Ready,
			Conns:     n.front.Conns,
			CheckedIn: n.handlers.CheckedIn,
			Groups:    n.handlers.GroupCounts,
			Drops:     func() map[string]uint64 { return n.front.Stats().ByReason() },
		}, opts.Logger)
		if err != nil {
			return nil, err
		}
	}
	n.log.Info("campbus serving", "node", opts.Name, "addr", n.ln.Addr().String(),
		"nats", n.bus.ClientURL(), "data", opts.DataDir, "campIds", opts.CampIDs.String(), "groupSize", opts.GroupSize)
	return n, nil
}

// Addr returns the campers' TCP address.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// NATSURL returns the observers' NATS URL, or "" when the port is off.
func (n *Node) NATSURL() string { return n.bus.ClientURL() }

// MonitorAddr returns the monitoring server's address, or nil when it is off.
func (n *Node) MonitorAddr() net.Addr {
	if n.monitor == nil {
		return nil
	}
	return n.monitor.Addr()
}

// Ready returns nil when the node serves campers: the bus accepts
// connections, JetStream answers, and the TCP listener is up.
func (n *Node) Ready(ctx context.Context) error {
	ns := n.bus.Server()
	switch {
	case !ns.Running():
		return errors.New("the bus is not running")
	case !ns.JetStreamEnabled():
		return errors.New("JetStream is not enabled")
	case n.bus.Clustered() && !ns.JetStreamIsCurrent():
		return errors.New("JetStream is not current with the cluster")
	case n.ln == nil || n.front == nil || !n.front.Accepting():
		return errors.New("the campers' listener is not up")
	}
	if err := n.handlers.Ready(ctx); err != nil {
		return fmt.Errorf("JetStream does not answer: %w", err)
	}
	return nil
}

// ClusterURL returns the URL other nodes route to, or "" for a single node.
func (n *Node) ClusterURL() string { return n.bus.ClusterURL() }

// Conns returns how many camper connections are open.
func (n *Node) Conns() int { return n.front.Conns() }

// FrontStats returns the front-end's counters of refusals and cuts.
func (n *Node) FrontStats() tcpfront.Stats { return n.front.Stats() }

// Shutdown stops the node gracefully: no new campers, a shutdown event to
// everyone connected, everyone checked out, the bus drained, then down. It
// gives up waiting for campers when ctx is done and closes what is left.
func (n *Node) Shutdown(ctx context.Context) error {
	var err error
	if n.front != nil {
		err = n.front.Shutdown(ctx)
		if serr := <-n.served; serr != nil && err == nil {
			err = serr
		}
		n.front = nil
	}
	n.close()
	return err
}

// close stops what Start started, in reverse order.
func (n *Node) close() {
	if n.monitor != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := n.monitor.Shutdown(ctx); err != nil {
			n.log.Warn("monitor shutdown", "err", err)
		}
		cancel()
		n.monitor = nil
	}
	if n.ln != nil {
		n.ln.Close()
	}
	if n.stopLiveness != nil {
		n.stopLiveness()
		<-n.livenessDone
		n.stopLiveness = nil
	}
	if n.handlers != nil {
		n.handlers.Stop()
		n.handlers = nil
	}
	for _, nc := range []*nats.Conn{n.frontNC, n.handlerNC} {
		drainAndWait(nc)
	}
	if n.bus != nil {
		n.bus.Shutdown()
		n.bus = nil
	}
}

// drainAndWait drains nc (pending messages are delivered, publishes are
// flushed) and waits until it is closed: Drain itself returns at once.
func drainAndWait(nc *nats.Conn) {
	if nc == nil || nc.IsClosed() {
		return
	}
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		nc.Close()
	}
}
