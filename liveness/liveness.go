// Package liveness finds the nodes of a campbus cluster that are lost, and
// has their campers checked out, without needing a JetStream leader.
//
// Every node publishes a heartbeat on node.<name>.beat (core NATS, every
// Interval) and listens to everyone's. A node silent for Timeout is a
// suspect; it is declared lost only when
//   - this node hears a majority of the cluster, itself included (so a node
//     cut off with a minority never sweeps the majority), and
//   - a direct check, a request on node.<name>.ping, gets no answer.
//
// The campers of a lost node are then checked out by the Sweep callback
// (compare-and-set in JetStream, so several nodes sweeping at once record
// each checkout once); a sweep that fails, because the cluster is electing
// the leader of a stream or bucket, is tried again every Interval.
//
// A node that was cut off may have been taken for lost while its campers
// were still connected to it. It knows: it lost sight of the majority, or a
// peer it had not heard for Timeout speaks again, or another node tells it
// on node.<name>.swept. Once it sees a majority again it runs the Reconcile
// callback, which closes the connections of campers it no longer holds.
//
// Heartbeats carry the node's run token (bus.Instance), so a node that
// restarted under the same name is told apart from its previous run: the
// campers of the old run are stale, those of the new one are not. They
// also carry the addresses the node advertises to campers (Advertise), from
// which every node knows the camp's live nodes (Camp) and their web
// addresses (WebURLs).
package liveness

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// Defaults for Options.
const (
	DefaultInterval     = 250 * time.Millisecond
	DefaultTimeout      = 2 * time.Second
	DefaultProbeTimeout = 500 * time.Millisecond
	// sweepTimeout bounds one attempt at a sweep; a failed one is tried
	// again on the next round.
	sweepTimeout = 3 * time.Second
	// reconcileTimeout bounds one check of this node's campers.
	reconcileTimeout = 5 * time.Second
	// reconcileChecks is how many times a node checks its campers after a
	// spell out of sight, Timeout apart.
	reconcileChecks = 3
	// freshness: the nodes that make a majority must have been heard within
	// Timeout/freshness, that is, well after a suspect fell silent.
	freshness = 2
)

// Options configure a Detector.
type Options struct {
	// Self is this node's instance.
	Self bus.Instance
	// Interval is how often this node beats and looks at the others.
	Interval time.Duration
	// Timeout is how long a node may be silent before it is suspect.
	Timeout time.Duration
	// ProbeTimeout bounds the direct check of a suspect.
	ProbeTimeout time.Duration
	// Members returns the size of the cluster and the names of its nodes
	// as the cluster's configuration knows them (JetStream's meta group),
	// including nodes that never spoke since this one started. Nil means
	// a cluster of the nodes heard so far.
	Members func() (size int, names []string)
	// Sweep checks out every camper whose connection stale says is gone.
	// stale is evaluated as the sweep goes, against the detector's view.
	Sweep func(ctx context.Context, stale func(conn string) bool) (int, error)
	// Reconcile closes the connections of campers this node no longer
	// holds in the camp's state, among those checked in before since (a
	// checkin after that was decided by the camp as it is now).
	Reconcile func(ctx context.Context, since time.Time) error
	Logger    *slog.Logger
	// Now returns the current time (tests may replace it).
	Now func() time.Time
}

// Detector is one node's failure detector.
type Detector struct {
	opts  Options
	nc    *nats.Conn
	log   *slog.Logger
	start time.Time

	mu    sync.Mutex
	peers map[string]*peer // by node name, this node excluded
	// lost: nodes declared lost and not heard since. toSweep: those of
	// them whose campers are not all checked out yet; only their
	// connections count as stale, so a node this one cannot hear but that
	// still lives is swept once at most, never its later campers.
	lost    map[string]bool
	toSweep map[string]bool
	// sweepDue: a lost node's campers are not all checked out yet.
	sweepDue bool
	// reconcileDue: this node may have been taken for lost; reconcileRuns
	// more checks are to run, the next not before reconcileAt (the state
	// read just after a heal may still be the old one).
	reconcileDue   bool
	reconcileRuns  int
	reconcileAt    time.Time
	reconcileSince time.Time // checkins before this are checked
	// cutOff: the last round saw no majority (logged once per spell).
	cutOff bool
	// lastRound is when the last round began: a round that comes much
	// later than planned means this node itself stalled (a long pause, a
	// starved machine), and the silence of others may be its own fault.
	lastRound time.Time

	subs      []*nats.Subscription
	stopBeats context.CancelFunc
	beating   sync.WaitGroup
	// unreachable: suspects alive for others only, logged once a spell.
	unreachable map[string]bool

	// adv is this node's advert (guarded by mu); beatMsg its heartbeat,
	// made once per change of the advert.
	adv     Advert
	beatMsg atomic.Pointer[nats.Msg]
}

type peer struct {
	run  string
	last time.Time // when it was last heard; zero if never
	adv  Advert    // what its last beat advertised
}

// Advert is what a node advertises to campers: the campers' TCP address
// (host:port), and the base URL of its web front ("" when it has none). A
// node that serves no camper (still starting, or draining) advertises no
// TCP address.
type Advert struct {
	TCP string `json:"tcp,omitempty"`
	Web string `json:"web,omitempty"`
}

// AdvertHeader carries a heartbeat's advert, as JSON; the payload stays the
// bare run token, so that a node that does not know adverts reads the beat
// as before (a camp's nodes may be upgraded one at a time).
const AdvertHeader = "Campbus-Advert"

// New returns a detector that speaks over nc; Start subscribes it and Run
// drives it.
func New(nc *nats.Conn, opts Options) *Detector {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = DefaultProbeTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Detector{
		opts:        opts,
		nc:          nc,
		log:         opts.Logger.With("component", "liveness"),
		peers:       map[string]*peer{},
		lost:        map[string]bool{},
		toSweep:     map[string]bool{},
		unreachable: map[string]bool{},
	}
	d.Advertise(Advert{})
	return d
}

// Advertise sets what this node's heartbeats advertise from the next one
// on: Advert{} while it serves no camper.
func (d *Detector) Advertise(a Advert) {
	m := &nats.Msg{Subject: bus.BeatSubject(d.opts.Self.Node), Data: []byte(d.opts.Self.Run)}
	if a != (Advert{}) {
		adv, _ := json.Marshal(a)
		m.Header = nats.Header{AdvertHeader: []string{string(adv)}}
	}
	d.mu.Lock()
	d.adv = a
	d.beatMsg.Store(m)
	d.mu.Unlock()
}

// Camp returns the camp's live nodes that serve campers, this one
// included, each as it advertises itself, in name order: the nodes heard
// within Timeout whose last beat advertised a TCP address.
func (d *Detector) Camp() []campbus.NodeInfo {
	now := d.opts.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]campbus.NodeInfo, 0, len(d.peers)+1)
	if d.adv.TCP != "" {
		out = append(out, campbus.NodeInfo{Name: d.opts.Self.Node, TCP: d.adv.TCP, Web: d.adv.Web})
	}
	for name, p := range d.peers {
		if p.adv.TCP != "" && !p.last.IsZero() && now.Sub(p.last) < d.opts.Timeout && !d.lost[name] {
			out = append(out, campbus.NodeInfo{Name: name, TCP: p.adv.TCP, Web: p.adv.Web})
		}
	}
	slices.SortFunc(out, func(a, b campbus.NodeInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// WebURLs returns the web addresses this node and every node heard since
// it started advertise, live or not: a page served by a node that is gone
// may still open the socket of another.
func (d *Detector) WebURLs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	if d.adv.Web != "" {
		out = append(out, d.adv.Web)
	}
	for _, p := range d.peers {
		if p.adv.Web != "" {
			out = append(out, p.adv.Web)
		}
	}
	return out
}

// Start subscribes to the heartbeats, answers direct checks, and listens
// for news of this node's campers being swept.
func (d *Detector) Start() error {
	d.start = d.opts.Now()
	self := d.opts.Self
	handlers := []struct {
		subject string
		cb      nats.MsgHandler
	}{
		{bus.AllBeats, d.onBeat},
		{bus.PingSubject(self.Node), func(m *nats.Msg) { _ = m.Respond([]byte(self.Run)) }},
		{bus.PingForSubject(self.Node), d.onPingFor},
		{bus.SweptSubject(self.Node), d.onSwept},
	}
	for _, h := range handlers {
		sub, err := d.nc.Subscribe(h.subject, h.cb)
		if err != nil {
			d.Stop()
			return err
		}
		d.subs = append(d.subs, sub)
	}
	if err := d.beat(); err != nil {
		d.Stop()
		return err
	}
	// The heartbeat has a goroutine of its own from now on, before the
	// node serves anyone: a node still starting is heard, and a round
	// that waits on JetStream (a sweep during an election) never makes
	// this node look silent.
	ctx, stop := context.WithCancel(context.Background())
	d.stopBeats = stop
	d.beating.Add(1)
	go func() {
		defer d.beating.Done()
		d.every(ctx, func() {
			if err := d.beat(); err != nil {
				d.log.Warn("heartbeat not sent", "err", err)
			}
		})
	}()
	return d.nc.Flush()
}

// Stop unsubscribes. Run ends with its context.
func (d *Detector) Stop() {
	if d.stopBeats != nil {
		d.stopBeats()
		d.beating.Wait()
		d.stopBeats = nil
	}
	for _, s := range d.subs {
		_ = s.Unsubscribe()
	}
	d.subs = nil
}

func (d *Detector) beat() error {
	return d.nc.PublishMsg(d.beatMsg.Load())
}

// onBeat records a heartbeat. A peer heard again after a silence long
// enough to be taken for lost may have taken this node for lost too.
func (d *Detector) onBeat(m *nats.Msg) {
	name, ok := nodeOfSubject(m.Subject)
	if !ok || name == d.opts.Self.Node {
		return
	}
	d.heard(name, string(m.Data), parseAdvert(m.Header.Get(AdvertHeader)))
}

// parseAdvert reads a heartbeat's advert; a beat without one (a node from
// before adverts) advertises nothing.
func parseAdvert(h string) *Advert {
	var a Advert
	if h != "" {
		_ = json.Unmarshal([]byte(h), &a)
	}
	return &a
}

// heard records that node name, run run, is alive; adv is what it
// advertises, nil when unknown (a direct check's answer carries none).
func (d *Detector) heard(name, run string, adv *Advert) {
	now := d.opts.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.peers[name]
	if p == nil {
		p = &peer{}
		d.peers[name] = p
	}
	if d.lost[name] || (!p.last.IsZero() && now.Sub(p.last) >= d.opts.Timeout) {
		if d.lost[name] {
			d.log.Info("a node taken for lost speaks again", "node", name, "run", run)
		}
		if d.lost[name] && !d.sweepDue {
			// It was swept while out of sight: tell it now that it hears.
			_ = d.nc.Publish(bus.SweptSubject(name), []byte(p.run))
		}
		delete(d.lost, name)
		delete(d.toSweep, name)
		d.sweepDue = len(d.toSweep) > 0
		d.dueReconcile()
	}
	if p.run != "" && p.run != run {
		// A new run of that node: the old run's campers are stale. The
		// node sweeps them itself at start; nothing to do here.
		d.log.Info("a node restarted", "node", name, "run", run)
	}
	p.run, p.last = run, now
	if adv != nil {
		p.adv = *adv
	}
}

// dueReconcile schedules the checks of this node's campers. d.mu must be
// held.
func (d *Detector) dueReconcile() {
	d.reconcileDue, d.reconcileRuns = true, reconcileChecks
	d.reconcileSince = d.opts.Now()
}

func (d *Detector) onSwept(m *nats.Msg) {
	if string(m.Data) != d.opts.Self.Run {
		return
	}
	d.mu.Lock()
	d.dueReconcile()
	d.mu.Unlock()
	d.log.Warn("the camp checked out this node's campers while it was out of sight; checking who is still ours")
}

// nodeOfSubject returns <name> of node.<name>.beat.
func nodeOfSubject(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, bus.NodePrefix)
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, ".beat")
	return name, ok && name != "" && !strings.Contains(name, ".")
}

// Run looks at the cluster every Interval until ctx ends (Start beats).
func (d *Detector) Run(ctx context.Context) {
	d.every(ctx, func() { d.round(ctx) })
}

// every calls f every Interval until ctx ends.
func (d *Detector) every(ctx context.Context, f func()) {
	t := time.NewTicker(d.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// View is what one round decides from the heartbeats heard.
type View struct {
	Size     int      // nodes in the cluster
	Alive    []string // nodes heard within Timeout, this one included
	Suspects []string // nodes silent for Timeout (or never heard since start), not yet lost
	// Majority: the nodes heard within Timeout/2, this one included, are
	// more than half of Size. Only nodes heard that lately count, so that
	// they spoke after any suspect fell silent: a node cut off from all
	// at once must not count the last beats of one peer as a majority.
	Majority bool
}

// view computes the round's View. d.mu must be held.
func (d *Detector) view(now time.Time, size int, names []string) View {
	self := d.opts.Self.Node
	known := map[string]bool{self: true}
	for n := range d.peers {
		known[n] = true
	}
	for _, n := range names {
		known[n] = true
	}
	v := View{Size: max(size, len(known)), Alive: []string{self}}
	fresh := 1
	for n := range known {
		if n == self {
			continue
		}
		p := d.peers[n]
		switch {
		case p != nil && !p.last.IsZero() && now.Sub(p.last) < d.opts.Timeout:
			v.Alive = append(v.Alive, n)
			if now.Sub(p.last) < d.opts.Timeout/freshness {
				fresh++
			}
		case d.lost[n]:
		case p == nil || p.last.IsZero():
			// Never heard since this node started: give it the time it
			// takes to be heard.
			if now.Sub(d.start) >= d.opts.Timeout {
				v.Suspects = append(v.Suspects, n)
			}
		default:
			v.Suspects = append(v.Suspects, n)
		}
	}
	slices.Sort(v.Alive)
	slices.Sort(v.Suspects)
	v.Majority = 2*fresh > v.Size
	return v
}

// round is one look at the cluster: probe suspects, declare the lost,
// sweep, and reconcile after a spell out of sight.
func (d *Detector) round(ctx context.Context) {
	size, names := 0, []string(nil)
	if d.opts.Members != nil {
		size, names = d.opts.Members()
	}
	d.mu.Lock()
	now := d.opts.Now()
	stalled := !d.lastRound.IsZero() && now.Sub(d.lastRound) > d.opts.Timeout/2
	d.lastRound = now
	v := d.view(now, size, names)
	if !v.Majority {
		if !d.cutOff {
			d.log.Warn("out of sight of the cluster's majority: sweeping nobody", "alive", v.Alive, "size", v.Size)
		}
		d.cutOff = true
		d.dueReconcile()
		d.mu.Unlock()
		return
	}
	if d.cutOff {
		d.log.Info("the cluster's majority is in sight again", "alive", v.Alive, "size", v.Size)
		d.cutOff = false
	}
	d.mu.Unlock()
	if stalled && len(v.Suspects) > 0 {
		d.log.Warn("this node stalled since its last look; declaring nobody lost this round", "suspects", v.Suspects)
		return
	}

	for _, name := range v.Suspects {
		run, alive := d.probe(name)
		if alive {
			d.mu.Lock()
			delete(d.unreachable, name)
			d.mu.Unlock()
		} else {
			// Silent to this node, and deaf to its ping: ask the others
			// to try (the link between this node and the suspect may be
			// the only thing down).
			run, alive = d.probeVia(name, v.Alive)
			d.mu.Lock()
			if alive && !d.unreachable[name] {
				d.log.Warn("a node this one cannot reach is alive for the others; not lost", "node", name)
			}
			d.unreachable[name] = alive
			d.mu.Unlock()
		}
		if alive {
			d.heard(name, run, nil)
			continue
		}
		d.mu.Lock()
		now := d.opts.Now()
		if !d.view(now, size, names).Majority {
			// The probe took long enough for the view to change.
			d.mu.Unlock()
			return
		}
		if p := d.peers[name]; p == nil || now.Sub(p.last) >= d.opts.Timeout {
			d.lost[name], d.toSweep[name], d.sweepDue = true, true, true
			d.log.Warn("node lost: silent, and no answer to a direct check from here or from the others; checking out its campers",
				"node", name, "alive", v.Alive, "size", v.Size)
		}
		d.mu.Unlock()
	}

	d.mu.Lock()
	sweep := d.sweepDue
	reconcile := d.reconcileDue && !d.opts.Now().Before(d.reconcileAt)
	since := d.reconcileSince
	d.mu.Unlock()
	if sweep {
		d.sweep(ctx)
	}
	if reconcile && d.opts.Reconcile != nil {
		rctx, cancel := context.WithTimeout(ctx, reconcileTimeout)
		err := d.opts.Reconcile(rctx, since)
		cancel()
		if err != nil {
			d.log.Warn("checking this node's campers against the camp; trying again", "err", err)
			return
		}
		d.mu.Lock()
		d.reconcileRuns--
		d.reconcileDue = d.reconcileRuns > 0
		d.reconcileAt = d.opts.Now().Add(d.opts.Timeout)
		d.mu.Unlock()
	}
}

// probe asks a suspect directly whether it is alive, and which run it is:
// twice, unless nobody listens at all (the node is gone from the bus).
func (d *Detector) probe(name string) (run string, alive bool) {
	for try := 0; try < 2; try++ {
		m, err := d.nc.Request(bus.PingSubject(name), nil, d.opts.ProbeTimeout)
		if err == nil {
			return string(m.Data), true
		}
		if errors.Is(err, nats.ErrNoResponders) {
			return "", false
		}
	}
	return "", false
}

// probeVia asks the other live nodes to check the suspect themselves, and
// reports it alive if any of them hears it.
func (d *Detector) probeVia(name string, alive []string) (run string, ok bool) {
	for _, peer := range alive {
		if peer == d.opts.Self.Node || peer == name {
			continue
		}
		m, err := d.nc.Request(bus.PingForSubject(peer), []byte(name), 3*d.opts.ProbeTimeout)
		if err != nil {
			continue
		}
		if r, found := strings.CutPrefix(string(m.Data), "alive "); found {
			return r, true
		}
	}
	return "", false
}

// onPingFor checks a node for another that cannot reach it: "alive <run>"
// or "silent".
func (d *Detector) onPingFor(m *nats.Msg) {
	name := string(m.Data)
	if name == "" || strings.ContainsAny(name, ". *>") {
		return
	}
	if run, alive := d.probe(name); alive {
		_ = m.Respond([]byte("alive " + run))
		return
	}
	_ = m.Respond([]byte("silent"))
}

// Stale reports whether a connection id belongs to a node instance that is
// gone: a lost node, or an earlier run of a node (this one included).
func (d *Detector) Stale(conn string) bool {
	in, ok := bus.InstanceOf(conn)
	d.mu.Lock()
	defer d.mu.Unlock()
	if in.Node == d.opts.Self.Node {
		return !ok || in.Run != d.opts.Self.Run
	}
	if d.toSweep[in.Node] {
		return true
	}
	if d.lost[in.Node] {
		return false // swept already; any later camper is not this node's business
	}
	p := d.peers[in.Node]
	if p == nil || p.run == "" || d.opts.Now().Sub(p.last) >= d.opts.Timeout {
		// Unknown, or not heard lately but not declared lost either:
		// nobody decided it is gone.
		return false
	}
	return !ok || in.Run != p.run
}

func (d *Detector) sweep(ctx context.Context) {
	if d.opts.Sweep == nil {
		return
	}
	d.mu.Lock()
	lost := make([]string, 0, len(d.toSweep))
	for n := range d.toSweep {
		lost = append(lost, n)
	}
	d.mu.Unlock()
	slices.Sort(lost)
	began := d.opts.Now()
	sctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	n, err := d.opts.Sweep(sctx, d.Stale)
	cancel()
	if err != nil {
		d.log.Warn("sweep of lost nodes failed (the cluster may be electing a leader); trying again", "nodes", lost, "err", err)
		return
	}
	d.mu.Lock()
	for _, name := range lost {
		delete(d.toSweep, name)
	}
	d.sweepDue = len(d.toSweep) > 0
	runs := map[string]string{}
	for _, name := range lost {
		if p := d.peers[name]; p != nil {
			runs[name] = p.run
		}
	}
	d.mu.Unlock()
	d.log.Info("swept the campers of lost nodes", "nodes", lost, "checkedOut", n, "took", d.opts.Now().Sub(began).Round(time.Millisecond))
	for name, run := range runs {
		// If it was only cut off, it will hear this once it is back.
		_ = d.nc.Publish(bus.SweptSubject(name), []byte(run))
	}
}

// Lost returns the nodes declared lost and not heard since.
func (d *Detector) Lost() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.lost))
	for n := range d.lost {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// CutOff reports whether this node is out of sight of the cluster's
// majority (as of its last round): it then sweeps nobody, and its campers
// are the others' to serve.
func (d *Detector) CutOff() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cutOff
}
