// Package bus runs the embedded NATS server that is campbus's internal bus,
// and names its subjects and streams.
//
// The app (handlers and TCP front-ends) connects in-process with a password
// made fresh at every start. Observers connect to the client port
// (Options.ListenAddr) without credentials: they may subscribe to anything
// (to group.> alone with Options.WatchGroupsOnly) but publish nothing and
// join no queue group, so they can watch but never inject an event or steal
// a request. An operator (Options.OperatorPassword) has full rights, for
// `nats stream view` and the like.
package bus

import (
	"cmp"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// User names on the bus.
const (
	AppUser      = "campbus"
	OperatorUser = "operator"
	ObserverUser = "observer"
	// SystemUser is the operator in the NATS system account.
	SystemUser    = "sys"
	SystemAccount = "SYS"
	// ClusterUser is the user a route presents with the cluster's secret.
	ClusterUser = "route"
)

// routeTLSTimeout bounds a route's TLS handshake.
const routeTLSTimeout = 5 * time.Second

// Options configure the embedded NATS server.
type Options struct {
	// ServerName names the NATS server (and the campbus node).
	ServerName string
	// ListenAddr is the client port for observers, host:port. Empty turns
	// it off: the server then accepts in-process connections only.
	ListenAddr string
	// DataDir is where JetStream keeps its files.
	DataDir string
	// MaxStore is JetStream's limit on the bytes of file storage, the event
	// log's disk budget (0: JetStream's default, 75% of the free disk); a
	// quarter more in a cluster.
	MaxStore int64
	// OperatorPassword, when set, admits user "operator" with full rights.
	OperatorPassword string
	// WatchGroupsOnly lets observers subscribe to group.> alone: a camp
	// whose campers prove who they are keeps their directs (camper.>,
	// req.direct, the log and JetStream's API) from anonymous eyes.
	WatchGroupsOnly bool
	// Logger receives the NATS server's warnings and errors.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for the server to accept connections.
	ReadyTimeout time.Duration

	// ClusterAddr, host:port, makes this server one node of a NATS cluster
	// (port 0 picks a free one); "" runs a single node. ClusterName names
	// the cluster (default "campbus"); Routes are the other nodes' cluster
	// URLs (nats://host:port). A clustered node always keeps a client port:
	// if ListenAddr is empty it listens on a free loopback port.
	ClusterAddr string
	ClusterName string
	Routes      []string
	// ClusterAdvertise, host:port, is the route address this node tells the
	// others it meets through a route (they may connect to it on their own);
	// "" advertises ClusterAddr. Set it when the nodes reach each other
	// through other addresses (NAT, proxies).
	ClusterAdvertise string
	// ClusterSecret, when set, is the password of every route, both ways:
	// a server that routes here without it is refused and sees nothing.
	// ClusterTLS, when set, encrypts the routes; it serves both ends, so for
	// mutual TLS it holds a certificate for each and the CA (tlsconf.Mutual).
	ClusterSecret string
	ClusterTLS    *tls.Config
}

// Bus is a running embedded NATS server.
type Bus struct {
	ns      *server.Server
	appPass string
	log     *slog.Logger
	// storeDir and maxStore restart JetStream as it was started; mu
	// guards maxStore and nopts, the options the server runs with.
	storeDir string
	mu       sync.Mutex
	maxStore int64
	nopts    *server.Options
	// writeFailed is set when JetStream logs a critical write error.
	writeFailed *atomic.Bool
	// routes counts the failed connects to routes (see routeLog).
	routes *routeLog
}

// Start starts the embedded NATS server with JetStream and waits until it
// accepts connections.
func Start(opts Options) (*Bus, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	if opts.DataDir == "" {
		return nil, errors.New("bus: a data directory is required")
	}
	appPass, err := randomPassword()
	if err != nil {
		return nil, err
	}
	nopts := &server.Options{
		ServerName: opts.ServerName,
		JetStream:  true,
		StoreDir:   opts.DataDir,
		// 0 lets JetStream size it from the free disk.
		JetStreamMaxStore: opts.MaxStore,
		NoSigs:            true, // campbus handles SIGINT/SIGTERM itself
		Users: []*server.User{
			{Username: AppUser, Password: appPass},
			{Username: ObserverUser, Permissions: observerPermissions(opts.WatchGroupsOnly)},
		},
		NoAuthUser: ObserverUser,
	}
	if opts.OperatorPassword != "" {
		// The operator has full rights in the app's account, and as "sys"
		// in the system account, for `nats server info` and the like.
		sys := server.NewAccount(SystemAccount)
		nopts.Accounts = append(nopts.Accounts, sys)
		nopts.SystemAccount = SystemAccount
		nopts.Users = append(nopts.Users,
			&server.User{Username: OperatorUser, Password: opts.OperatorPassword},
			&server.User{Username: SystemUser, Password: opts.OperatorPassword, Account: sys})
	}
	if opts.ClusterAddr != "" && opts.ListenAddr == "" {
		// A server that does not listen never starts its routes.
		opts.ListenAddr = "127.0.0.1:0"
	}
	if opts.ListenAddr == "" {
		nopts.DontListen = true
	} else if nopts.Host, nopts.Port, err = hostPort(opts.ListenAddr); err != nil {
		return nil, fmt.Errorf("bus: nats address: %w", err)
	}
	if opts.ClusterAddr != "" {
		// Every node takes its own budget; the streams, made by whichever
		// node comes first, reserve their byte limits on every node. A
		// quarter more lets a node whose budget is a little smaller (its
		// disk had a little less room) take them.
		nopts.JetStreamMaxStore = opts.MaxStore + opts.MaxStore/4
		if opts.ServerName == "" {
			return nil, errors.New("bus: a clustered node needs a name")
		}
		nopts.Cluster.Name = cmp.Or(opts.ClusterName, "campbus")
		nopts.Cluster.Advertise = opts.ClusterAdvertise
		if nopts.Cluster.Host, nopts.Cluster.Port, err = hostPort(opts.ClusterAddr); err != nil {
			return nil, fmt.Errorf("bus: cluster address: %w", err)
		}
		if opts.ClusterSecret != "" {
			nopts.Cluster.Username, nopts.Cluster.Password = ClusterUser, opts.ClusterSecret
		}
		if opts.ClusterTLS != nil {
			nopts.Cluster.TLSConfig, nopts.Cluster.TLSTimeout = opts.ClusterTLS, routeTLSTimeout.Seconds()
		}
		for _, r := range opts.Routes {
			u, err := url.Parse(r)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("bus: route %q is not a URL such as nats://host:6222", r)
			}
			if opts.ClusterSecret != "" {
				// Routes learnt from the others carry it by themselves.
				u.User = url.UserPassword(ClusterUser, opts.ClusterSecret)
			}
			nopts.Routes = append(nopts.Routes, u)
		}
		// A config reload (SetMaxStore) sorts the running server's routes
		// in place to compare them, while its route goroutines read them
		// (nats-server v2.15.2 reload.go imposeOrder): handed over in that
		// order already, the sort finds nothing to move.
		slices.SortFunc(nopts.Routes, func(a, b *url.URL) int { return cmp.Compare(a.String(), b.String()) })
	}
	ns, err := server.NewServer(nopts)
	if err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}
	writeFailed := new(atomic.Bool)
	nlog := opts.Logger.With("component", "nats")
	routes := newRouteLog(nlog)
	ns.SetLoggerV2(&natsLogger{log: nlog, writeFailed: writeFailed, routes: routes}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(opts.ReadyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("bus: nats server not ready after %v", opts.ReadyTimeout)
	}
	b := &Bus{ns: ns, appPass: appPass, log: opts.Logger, storeDir: opts.DataDir, maxStore: opts.MaxStore, nopts: nopts,
		writeFailed: writeFailed, routes: routes}
	if _, reserved, err := ns.JetStreamReservedResources(); err == nil && opts.MaxStore > 0 && reserved > opts.MaxStore {
		// The streams found in the data dir reserve more than this start's
		// budget (a smaller --max-store, or less room on the disk): JetStream
		// would refuse to change them at all. Its limit takes them as they
		// are, so that EnsureStreams can give them their smaller shares.
		if err := b.SetMaxStore(reserved); err != nil {
			b.Shutdown()
			return nil, err
		}
	}
	return b, nil
}

// observerPermissions lets observers subscribe, to everything or to the
// group events alone, and never publish.
func observerPermissions(groupsOnly bool) *server.Permissions {
	watch := ">"
	if groupsOnly {
		watch = GroupPrefix + ">"
	}
	return &server.Permissions{
		Publish: &server.SubjectPermission{Deny: []string{">"}},
		Subscribe: &server.SubjectPermission{
			Allow: []string{watch},
			// A queue subscription on req.> would take requests away from
			// the handlers.
			Deny: []string{"> *"},
		},
	}
}

// hostPort splits host:port; port 0 becomes NATS's "pick a free port".
func hostPort(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("bus: app password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Connect opens an in-process connection with the app's rights. The
// connection retries nothing: the server is in the same process.
func (b *Bus) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	log := b.log.With("conn", name)
	all := append([]nats.Option{
		nats.Name(name),
		nats.InProcessServer(b.ns),
		nats.UserInfo(AppUser, b.appPass),
		nats.NoReconnect(),
		// Asynchronous errors (a subscription falling behind, say) would
		// otherwise go unseen.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("bus connection error", "subject", subject, "err", err)
		}),
	}, opts...)
	nc, err := nats.Connect("", all...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", name, err)
	}
	return nc, nil
}

// ClientURL returns the observers' URL, or "" when the client port is off.
func (b *Bus) ClientURL() string {
	if b.ns.Addr() == nil {
		return ""
	}
	return b.ns.ClientURL()
}

// ClusterURL returns the URL other nodes route to, or "" for a single node.
func (b *Bus) ClusterURL() string {
	a := b.ns.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats://" + a.String()
}

// Clustered reports whether this bus is one node of a cluster.
func (b *Bus) Clustered() bool { return b.ns.ClusterAddr() != nil }

// RestartJetStream starts JetStream again if it stopped itself, as it does
// after a write it could not make (a permission error, say); JetStream reads
// the streams back from the data dir. It does nothing while JetStream runs,
// and fails while it is still stopping (try again later).
// Only a single node restarts it this way: a cluster's node must rejoin its
// meta group, which needs a restart of the process.
func (b *Bus) RestartJetStream() error {
	if b.ns.JetStreamEnabled() || b.Clustered() {
		return nil
	}
	if b.ns.JetStreamConfig() != nil {
		// Still stopping: nats-server marks JetStream disabled first and
		// lets go of it last. Enabled meanwhile, the new JetStream's API
		// workers would start with none and panic on their first request.
		return errors.New("bus: JetStream is still stopping")
	}
	// As nats-server's own restart on a config reload does.
	b.mu.Lock()
	cfg := server.JetStreamConfig{StoreDir: b.storeDir, MaxStore: b.maxStore, Strict: true}
	b.mu.Unlock()
	if err := b.ns.EnableJetStream(&cfg); err != nil {
		return fmt.Errorf("bus: restart JetStream: %w", err)
	}
	return nil
}

// SetMaxStore raises JetStream's limit on file storage to maxStore bytes
// while it runs, as a config reload of nats-server does. JetStream allows no
// decrease: a smaller value changes nothing.
func (b *Bus) SetMaxStore(maxStore int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if maxStore <= b.maxStore {
		return nil
	}
	opts := b.nopts.Clone()
	opts.JetStreamMaxStore = maxStore
	if b.Clustered() {
		opts.JetStreamMaxStore += maxStore / 4 // as at start
	}
	if err := b.ns.ReloadOptions(opts); err != nil {
		return fmt.Errorf("bus: raise the store budget to %d bytes: %w", maxStore, err)
	}
	b.nopts, b.maxStore = opts, maxStore
	return nil
}

// WriteFailed reports whether a stream failed a write to disk since the
// start or the last ReopenJetStream ("no space left on device", say). Such
// a stream answers no write any more until it is reopened.
func (b *Bus) WriteFailed() bool { return b.writeFailed.Load() }

// ReopenJetStream stops JetStream and starts it again, which reads every
// stream back from the data dir: what a stream that failed a write to disk
// needs to take writes again. Writes in flight meanwhile fail. A single
// node only, as RestartJetStream.
func (b *Bus) ReopenJetStream() error {
	if b.Clustered() {
		return nil
	}
	b.writeFailed.Store(false)
	if err := b.ns.ShutdownJetStream(); err != nil {
		return fmt.Errorf("bus: stop JetStream: %w", err)
	}
	return b.RestartJetStream()
}

// RouteConnectFailures returns how many of this server's attempts to
// connect to another node's route have failed since it started.
func (b *Bus) RouteConnectFailures() uint64 { return b.routes.total() }

// Server returns the embedded NATS server.
func (b *Bus) Server() *server.Server { return b.ns }

// Shutdown stops the NATS server and waits until it is down. Close the app's
// connections (Drain, then wait for them to close) before calling it.
func (b *Bus) Shutdown() {
	b.ns.Shutdown()
	b.ns.WaitForShutdown()
}

// natsLogger sends the NATS server's log to slog: notices at debug level,
// warnings and errors as they are, but for failed connects to a route,
// which routes logs once a spell and counts. It notes a stream's critical
// write error in writeFailed.
type natsLogger struct {
	log         *slog.Logger
	writeFailed *atomic.Bool
	routes      *routeLog
}

func (l *natsLogger) Noticef(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.routes.noticed(msg)
	l.log.Debug(msg)
}
func (l *natsLogger) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "Plaintext passwords detected") {
		// The app's password is made fresh in memory at every start and
		// never leaves the process; the warning is meant for config files.
		l.log.Debug(msg)
		return
	}
	l.log.Warn(msg)
}
func (l *natsLogger) Fatalf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "critical write error") {
		l.writeFailed.Store(true)
	}
	if l.routes.connectFailed(msg) {
		return
	}
	l.log.Error(msg)
}
func (l *natsLogger) Debugf(format string, v ...any) {}
func (l *natsLogger) Tracef(format string, v ...any) {}
