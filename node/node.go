// Package node runs one campbus node: the embedded NATS bus, the command
// handlers, the session hub and the TCP front-end, started in that order
// and stopped in the reverse one. Tests start nodes in-process on random ports with the same
// constructor as `campbus serve`.
package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/auth"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/handlers"
	"github.com/campbus/campbus/liveness"
	"github.com/campbus/campbus/monitor"
	"github.com/campbus/campbus/session"
	"github.com/campbus/campbus/tcpfront"
	"github.com/campbus/campbus/webfront"
)

// Options configure a node. The zero value of each field takes its default.
type Options struct {
	// Name names the node on the bus. Default "campbus".
	Name string
	// Addr is the campers' TCP address. Default 0.0.0.0:2022.
	Addr string
	// Advertise is the campers' address (host:port) told to campers in a
	// cluster's checkin response, and WebAdvertise the web front's base URL
	// (http:// or https://), PROTOCOL.md §11. By default: the listen
	// addresses, a host of 0.0.0.0, :: or none replaced by the machine's
	// host name, and http:// or https:// (with TLS) for the web front.
	Advertise    string
	WebAdvertise string
	// NATSAddr is the observers' NATS client port; "" turns it off.
	NATSAddr string
	// DataDir keeps the JetStream files; it is created if missing.
	DataDir string
	// OperatorPassword admits user "operator" on the NATS port with full rights.
	OperatorPassword string
	// AuthSecret, when set, makes campers prove who they are: a checkin
	// needs a token signed with it (PROTOCOL.md §9), and observers on the
	// NATS port see group.> alone. Every node of a cluster needs the same.
	AuthSecret string

	// ClusterAddr makes the node one of a cluster (host:port of its NATS
	// route listener; port 0 picks one); Routes are the other nodes' route
	// URLs. "" runs a single node.
	ClusterAddr string
	Routes      []string
	// ClusterAdvertise is the route address told to the other nodes
	// ("" tells ClusterAddr); see bus.Options.
	ClusterAdvertise string
	// Heartbeat is how often the node tells the others it is alive
	// (default liveness.DefaultInterval). A node silent for NodeTimeout
	// (default liveness.DefaultTimeout) whose direct check fails has its
	// campers checked out by the others that see a majority of the cluster.
	Heartbeat   time.Duration
	NodeTimeout time.Duration

	// WebAddr serves browsers: the browser client at / and the WebSocket
	// at /ws (PROTOCOL.md §8); "" turns it off. WebOrigins are the other
	// sites whose pages may open a socket.
	WebAddr    string
	WebOrigins []string
	// Web configures the WebSocket front-end (pings; its Origins, body
	// limit and Logger are set from the node's options).
	Web webfront.Options

	// MonitorAddr serves /metrics, /healthz and NATS's monitoring
	// endpoints; "" turns it off.
	MonitorAddr string

	// TLSCert and TLSKey (PEM files, both or neither) make the campers'
	// port speak TLS and the web port HTTPS, with one certificate read
	// again when its files change (PROTOCOL.md §10). ClusterSecret
	// authenticates the routes; ClusterTLSCert, ClusterTLSKey and
	// ClusterTLSCA (all three or none) make them mutual TLS.
	TLSCert, TLSKey                             string
	ClusterSecret                               string
	ClusterTLSCert, ClusterTLSKey, ClusterTLSCA string

	CampIDs   campbus.IDRange
	GroupSize int
	// Sessions configures every camper's session, whatever its transport:
	// queues, write and checkin timeouts, the connection cap, the rate
	// limit. Its Instance, Logger and Observer are the node's.
	Sessions session.Options
	// Front configures the TCP front-end: frame limits, the frame timeout,
	// connection and rate limits. Its NodeName and Logger are the node's.
	Front tcpfront.Options
	// Log sets the event log's retention (events kept per group, the age and
	// size limits of the directs), the replicas of every stream and bucket
	// (0: min(3, nodes named by Routes + 1) in a cluster, 1 alone).
	Log bus.StreamOptions
	// StoreCheck is how often the node looks at how full the event log is
	// (Log.MaxStore, its budget; 0: DefaultStoreCheck).
	StoreCheck time.Duration

	Logger *slog.Logger

	// freeBytes stands in for bus.FreeBytes in tests.
	freeBytes func(dir string) (int64, error)
}

// Node is a running campbus node.
type Node struct {
	opts               Options
	self               bus.Instance
	log                *slog.Logger
	bus                *bus.Bus
	handlerNC, frontNC *nats.Conn
	handlers           *handlers.Service
	hub                *session.Hub
	hubDown            bool // Shutdown has drained the hub
	front              *tcpfront.Server
	ln                 net.Listener
	served             chan error
	serving            bool // Serve runs and will send on served

	liveness     *liveness.Detector
	advert       liveness.Advert // what the heartbeats advertise while the node serves
	stopLiveness context.CancelFunc
	livenessDone chan struct{}
	stopStore    context.CancelFunc
	storeDone    chan struct{}
	budget       budget
	monitor      *monitor.Server

	web     *webfront.Server
	webLn   net.Listener
	webDone chan error

	// members caches the cluster's size and node names (see members).
	membersMu    sync.Mutex
	membersAt    time.Time
	membersSize  int
	membersNames []string

	// dirLock holds DataDir for this node until close.
	dirLock *dirLock
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
	if err := checkAdvertise(opts); err != nil {
		return nil, err
	}
	// The data dir is this node's alone from here on: its lock comes before
	// anything in it is opened, and is let go when the node stops (on a
	// failed start too).
	lock, err := lockDataDir(opts.DataDir, opts.Name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.release() // after the started node's Shutdown, if any, below
		}
	}()
	if err := usableDir(opts.DataDir); err != nil {
		return nil, err
	}
	if err := checkFree("NATS address", "--nats-addr", opts.NATSAddr); err != nil {
		return nil, err
	}
	if err := checkFree("cluster address", "--cluster-addr", opts.ClusterAddr); err != nil {
		return nil, err
	}
	trust, err := loadTrust(opts)
	if err != nil {
		return nil, err
	}
	followDisk := opts.Log.MaxStore <= 0
	diskFree, err := resolveBudget(&opts)
	if err != nil {
		return nil, err
	}
	if opts.StoreCheck <= 0 {
		opts.StoreCheck = DefaultStoreCheck
	}
	run, err := runToken()
	if err != nil {
		return nil, err
	}
	if opts.AuthSecret != "" {
		if opts.Sessions.Tokens, err = auth.NewSecret(opts.AuthSecret); err != nil {
			return nil, fmt.Errorf("--auth-secret: %w", err)
		}
	}
	started := &Node{opts: opts, log: opts.Logger, served: make(chan error, 1), dirLock: lock,
		self:   bus.Instance{Node: opts.Name, Run: run},
		budget: budget{maxStore: opts.Log.MaxStore, followDisk: followDisk}}
	n = started
	defer func() {
		if err != nil {
			// n is nil by now (return nil, err): stop through started.
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = started.Shutdown(sctx)
			cancel()
		}
	}()

	n.bus, err = bus.Start(bus.Options{
		ServerName:       opts.Name,
		ListenAddr:       opts.NATSAddr,
		DataDir:          opts.DataDir,
		MaxStore:         opts.Log.MaxStore,
		OperatorPassword: opts.OperatorPassword,
		WatchGroupsOnly:  opts.AuthSecret != "",
		ClusterAddr:      opts.ClusterAddr,
		ClusterAdvertise: opts.ClusterAdvertise,
		Routes:           opts.Routes,
		ClusterSecret:    opts.ClusterSecret,
		ClusterTLS:       trust.routes,
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
	// The detector beats and answers checks from now on, while the rest
	// starts, so that a node still starting is not taken for lost. Its
	// rounds (and so its sweeps) begin once the node serves.
	n.liveness = liveness.New(n.handlerNC, liveness.Options{
		Self:     n.self,
		Interval: opts.Heartbeat,
		Timeout:  opts.NodeTimeout,
		Members:  started.members,
		Sweep: func(ctx context.Context, stale func(string) bool) (int, error) {
			return started.handlers.Sweep(ctx, stale)
		},
		Reconcile: started.reconcile,
		Logger:    opts.Logger,
	})
	if err := n.liveness.Start(); err != nil {
		return nil, fmt.Errorf("node: liveness: %w", err)
	}
	js, err := jetstream.New(n.handlerNC)
	if err != nil {
		return nil, fmt.Errorf("node: jetstream: %w", err)
	}
	streams, err := bus.EnsureStreams(ctx, js, opts.Log)
	if err != nil {
		return nil, err
	}
	if streams.EpochAdded {
		n.log.Info("the group log, made before epochs, was given one", "epoch", streams.Epoch)
	}
	var campNodes func() []campbus.NodeInfo
	if opts.ClusterAddr != "" {
		// A node alone sends no list of the camp's nodes.
		campNodes = n.liveness.Camp
	}
	n.handlers, err = handlers.New(n.handlerNC, js, streams, handlers.Options{
		Nodes:     campNodes,
		NodeName:  opts.Name,
		CampIDs:   opts.CampIDs,
		GroupSize: opts.GroupSize,
		DataDir:   opts.DataDir,
		Logger:    opts.Logger,
		SeatsFed:  true, // by the hub, below
		// Alone, the node is the only writer of its streams.
		SoleWriter: opts.ClusterAddr == "",
	})
	if err != nil {
		return nil, err
	}
	// Nobody is connected yet: every camper the log still shows as checked
	// in on this node is left over from a previous run.
	stale, err := n.handlers.SweepAtStart(ctx, n.self)
	if err != nil {
		return nil, err
	}
	if stale > 0 {
		n.log.Info("checked out campers left from a previous run", "count", stale)
	}
	if _, err := n.handlers.CheckStore(ctx); err != nil {
		n.log.Warn("first look at the event log's room", "err", err) // watchStore looks again
	}
	if err := n.handlers.Start(); err != nil {
		return nil, err
	}
	// The goroutine must not read n: Start's error path sets it to nil.
	sctx, stopStore := context.WithCancel(context.Background())
	storeDone := make(chan struct{})
	n.storeDone, n.stopStore = storeDone, stopStore
	go func() {
		defer close(storeDone)
		started.watchStore(sctx, opts.StoreCheck)
	}()
	sessions, front := opts.Sessions, opts.Front
	sessions.Instance, sessions.Logger, front.Logger = n.self, opts.Logger, opts.Logger
	var metrics *monitor.Metrics
	if opts.MonitorAddr != "" {
		metrics = monitor.NewMetrics()
		sessions.Observer = metrics
	}
	sessions.GroupWatcher = n.handlers.WatchGroup
	if opts.ClusterAddr != "" {
		// NATS hands a request from a client to any node's handlers, not
		// the local ones first: two of a camper's messages on the bus at
		// once could be decided on two nodes in either order. In a
		// cluster a camper's next message waits for the answer before it.
		sessions.Pipeline = 1
	}
	front.TLS, front.HandshakeFailed = trust.campers, trust.failures(metrics, "tcp")
	n.hub = session.NewHub(n.frontNC, sessions)
	if err := n.hub.Start(); err != nil {
		return nil, err
	}
	n.front = tcpfront.New(n.hub, front)
	lctx, stopLiveness := context.WithCancel(context.Background())
	det, done := n.liveness, make(chan struct{})
	n.livenessDone, n.stopLiveness = done, stopLiveness
	go func() {
		defer close(done)
		det.Run(lctx)
	}()
	// Go's net.Listen sets SO_REUSEADDR on TCP listeners, so a restarted
	// server can bind the port while old connections sit in TIME_WAIT.
	if n.ln, err = net.Listen("tcp", opts.Addr); err != nil {
		return nil, listenError("campers' address", "--addr", opts.Addr, err)
	}
	// The goroutine must not read n: Start's error path sets it to nil.
	srv, ln, served := n.front, n.ln, n.served
	n.serving = true
	go func() { served <- srv.Serve(ln) }()
	if opts.WebAddr != "" {
		if n.webLn, err = net.Listen("tcp", opts.WebAddr); err != nil {
			return nil, listenError("web address", "--web-addr", opts.WebAddr, err)
		}
		web := opts.Web
		web.Origins, web.Logger = opts.WebOrigins, opts.Logger
		web.CampURLs = n.liveness.WebURLs
		web.TLS, web.HandshakeFailed = trust.campers, trust.failures(metrics, "web")
		if web.MaxBodyBytes == 0 {
			web.MaxBodyBytes = opts.Front.Limits.MaxBodyBytes
		}
		n.web = webfront.New(n.hub, web)
		wsrv, wln, wdone := n.web, n.webLn, make(chan error, 1)
		n.webDone = wdone
		go func() { wdone <- wsrv.Serve(wln) }()
	}
	if metrics != nil {
		var mon *monitor.Server
		mon, err = monitor.Start(opts.MonitorAddr, metrics, monitor.Sources{
			NATS:      n.bus.Server(),
			Ready:     n.Ready,
			Electing:  n.Electing,
			Conns:     n.hub.Conns,
			CheckedIn: n.handlers.CheckedIn,
			Groups:    n.handlers.GroupCounts,
			Drops:     func() map[string]uint64 { return n.hub.Stats().ByReason() },
			Store: func() (used, budget int64, full bool) {
				u := n.handlers.StoreUsage()
				return u.Bytes, u.Budget, u.Full
			},
			RouteConnectFailures: n.bus.RouteConnectFailures,
		}, opts.Logger)
		if err != nil {
			return nil, listenError("monitoring address", "--monitor-addr", opts.MonitorAddr, err)
		}
		n.monitor = mon
	}
	webURL := ""
	if n.webLn != nil {
		webURL = "http://" + n.webLn.Addr().String() + "/"
		if trust.campers != nil {
			webURL = "https://" + n.webLn.Addr().String() + "/"
		}
	}
	// From now on the heartbeats tell the camp where campers reach this node.
	n.advert = advertised(opts, n.ln.Addr(), n.WebAddr(), trust.campers != nil)
	n.liveness.Advertise(n.advert)
	n.log.Info("campbus serving", "node", opts.Name, "run", n.self.Run, "addr", n.ln.Addr().String(), "web", webURL,
		"advertise", n.advert.TCP, "webAdvertise", n.advert.Web,
		"nats", n.bus.ClientURL(), "data", opts.DataDir, "epoch", streams.Epoch, "campIds", opts.CampIDs.String(), "groupSize", opts.GroupSize,
		"maxStore", opts.Log.MaxStore, "diskFree", diskFree)
	if open := openAddrs(n.ln.Addr(), n.WebAddr()); len(open) > 0 && opts.AuthSecret == "" {
		n.log.Warn("this camp needs no token: anyone who reaches "+strings.Join(open, " or ")+
			" can check in as any free campId; give the server a secret (--auth-secret or CAMPBUS_AUTH_SECRET) and hand out tokens (campbus token)",
			"addrs", open)
	}
	return n, nil
}

// openAddrs lists the addresses among addrs that other machines may reach:
// those not on a loopback address.
func openAddrs(addrs ...net.Addr) []string {
	var out []string
	for _, a := range addrs {
		tcp, ok := a.(*net.TCPAddr)
		if !ok || tcp == nil || tcp.IP.IsLoopback() {
			continue
		}
		out = append(out, tcp.String())
	}
	return out
}

// Addr returns the campers' TCP address.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// NATSURL returns the observers' NATS URL, or "" when the port is off.
func (n *Node) NATSURL() string { return n.bus.ClientURL() }

// WebAddr returns the browsers' address, or nil when it is off.
func (n *Node) WebAddr() net.Addr {
	if n.webLn == nil {
		return nil
	}
	return n.webLn.Addr()
}

// MonitorAddr returns the monitoring server's address, or nil when it is off.
func (n *Node) MonitorAddr() net.Addr {
	if n.monitor == nil {
		return nil
	}
	return n.monitor.Addr()
}

// Epoch returns the group log's epoch (PROTOCOL.md §11): made when the
// camp's log was created, the same on every node of a cluster.
func (n *Node) Epoch() string { return n.handlers.Epoch() }

// ClusterURL returns the URL other nodes route to, or "" for a single node.
func (n *Node) ClusterURL() string { return n.bus.ClusterURL() }

// Conns returns how many camper connections are open.
func (n *Node) Conns() int { return n.hub.Conns() }

// SessionStats returns the counters of campers refused and cut.
func (n *Node) SessionStats() session.Stats { return n.hub.Stats() }

// Shutdown stops the node gracefully: no new campers, a shutdown event to
// everyone connected, everyone checked out, the bus drained, then down. It
// gives up waiting for campers when ctx is done and closes what is left.
func (n *Node) Shutdown(ctx context.Context) error {
	var err error
	// The detector's rounds go first: a node on its way out sweeps nobody,
	// and its reconcile reads the hub this sets to nil below. Its beats go
	// on until close, so that the others do not take it for lost while it
	// checks its campers out.
	n.stopDetector()
	if n.liveness != nil {
		// A node on its way out is no longer one to move to.
		n.liveness.Advertise(liveness.Advert{})
	}
	if n.front != nil {
		n.front.StopAccepting()
	}
	if n.web != nil {
		n.web.StopAccepting()
	}
	if n.hub != nil && !n.hubDown {
		// n.hub stays set: the monitor and the detector read it from
		// their own goroutines; a second Shutdown leaves it alone.
		n.hubDown = true
		err = n.hub.Shutdown(ctx)
	}
	if n.front != nil {
		if werr := n.front.Wait(ctx); werr != nil && err == nil {
			err = werr
		}
		if n.serving {
			if serr := <-n.served; serr != nil && err == nil {
				err = serr
			}
		}
		n.front = nil
	}
	if n.web != nil {
		if werr := n.web.Wait(ctx); werr != nil && err == nil {
			err = werr
		}
		if serr := <-n.webDone; serr != nil && err == nil {
			err = serr
		}
		n.web = nil
	}
	n.close()
	return err
}

// stopDetector ends the liveness detector's rounds, if they run.
func (n *Node) stopDetector() {
	if n.stopLiveness != nil {
		n.stopLiveness()
		<-n.livenessDone
		n.stopLiveness = nil
	}
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
	n.stopDetector()
	if n.liveness != nil {
		n.liveness.Stop()
		n.liveness = nil
	}
	if n.stopStore != nil {
		n.stopStore()
		<-n.storeDone
		n.stopStore = nil
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
	// Last: JetStream has closed its files in the data dir.
	n.dirLock.release()
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

// runToken returns a fresh token naming this run of the node.
func runToken() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("node: run token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// usableDir makes sure dir exists (creating it) and can be written to.
// Called once the dir's lock is held: it writes and removes a file there.
func usableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data directory (--data-dir) %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".campbus-write-check-*")
	if err != nil {
		return fmt.Errorf("data directory (--data-dir) %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// listenError names the flag behind an address that could not be used,
// and keeps only why (address already in use, permission denied...).
func listenError(what, flag, addr string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		err = op.Err
	}
	return fmt.Errorf("%s (%s) %s: %w", what, flag, addr, err)
}

// checkFree fails with listenError when addr cannot be listened on. The
// embedded NATS server only logs such a failure, and then never becomes
// ready; asking first gives the operator the reason at once.
func checkFree(what, flag, addr string) error {
	if addr == "" {
		return nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%s (%s) %q: %w", what, flag, addr, err)
	} else if port == "0" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return listenError(what, flag, addr, err)
	}
	return ln.Close()
}

// members returns the cluster's size and node names as JetStream's meta
// group knows them, read at most every second.
func (n *Node) members() (int, []string) {
	n.membersMu.Lock()
	defer n.membersMu.Unlock()
	if time.Since(n.membersAt) < time.Second {
		return n.membersSize, n.membersNames
	}
	n.membersAt = time.Now()
	info, err := n.bus.Server().Jsz(nil)
	if err != nil || info.Meta == nil {
		return n.membersSize, n.membersNames
	}
	names := make([]string, 0, len(info.Meta.Replicas))
	for _, p := range info.Meta.Replicas {
		names = append(names, p.Name)
	}
	n.membersSize, n.membersNames = info.Meta.Size, names
	return n.membersSize, n.membersNames
}

// leaderInTouch is how recently the campers bucket's leader must have
// heard from a majority of its replicas for reconcile to believe it: below
// the 4 s a NATS Raft group waits before it elects another leader.
const leaderInTouch = 3 * time.Second

// reconcile closes the connections of campers this node no longer holds in
// the camp's state: the others took the node for lost while it was cut off
// and checked its campers out.
func (n *Node) reconcile(ctx context.Context, since time.Time) error {
	hub, h := n.hub, n.handlers
	if hub == nil || h == nil {
		return nil
	}
	// Every read is the bucket's leader's: a node back from a spell out of
	// sight has a copy that may still hold what the others checked out
	// meanwhile (it may even still take itself for the leader: see
	// CampersLeaderInTouch), and a replica that lags on a loaded machine
	// may not have a checkin yet.
	if err := h.CampersLeaderInTouch(ctx, leaderInTouch); err != nil {
		return err
	}
	evicted, mine := 0, hub.CheckedInBefore(since)
	for conn, campID := range mine {
		holder, held, err := h.HolderFromLeader(ctx, campID)
		if err != nil {
			return err
		}
		if held && holder == conn {
			continue
		}
		if hub.Evict(conn, campID) {
			evicted++
		}
	}
	n.log.Info("checked this node's campers against the camp after a spell out of sight",
		"checkedIn", len(mine), "closed", evicted)
	return nil
}

// checkAdvertise refuses an --advertise that is not host:port, and a
// --web-advertise that is not an http or https base URL, or that has no web
// front to name.
func checkAdvertise(opts Options) error {
	if a := opts.Advertise; a != "" {
		host, port, err := net.SplitHostPort(a)
		if err == nil && host == "" {
			err = errors.New("no host")
		}
		if p, perr := strconv.Atoi(port); err == nil && (perr != nil || p < 1 || p > 65535) {
			err = fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
		if err != nil {
			return fmt.Errorf("advertised address (--advertise) %q: want host:port: %w", a, err)
		}
	}
	if w := opts.WebAdvertise; w != "" {
		if opts.WebAddr == "" {
			return fmt.Errorf("advertised web address (--web-advertise) %q: the web front is off (--web-addr \"\")", w)
		}
		u, err := url.Parse(w)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("advertised web address (--web-advertise) %q: want http://host[:port] or https://host[:port]", w)
		}
	}
	return nil
}

// advertised is what the node's heartbeats advertise once it serves: its
// listen addresses unless the options name others, with a host that
// stands for every interface replaced by the machine's name.
func advertised(opts Options, tcp, web net.Addr, withTLS bool) liveness.Advert {
	a := liveness.Advert{TCP: opts.Advertise}
	if a.TCP == "" {
		a.TCP = reachable(tcp.String())
	}
	if web == nil {
		return a
	}
	a.Web = strings.TrimSuffix(opts.WebAdvertise, "/")
	if a.Web == "" {
		scheme := "http://"
		if withTLS {
			scheme = "https://"
		}
		a.Web = scheme + reachable(web.String())
	}
	return a
}

// reachable returns a listen address with an unspecified host (0.0.0.0,
// ::, none) replaced by the machine's host name.
func reachable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		}
	}
	return net.JoinHostPort(host, port)
}
