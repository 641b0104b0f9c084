// Package bench is the load generator behind `campbus bench`: it speaks the
// wire protocol over real TCP to a campbus server, as many campers at once,
// measures what the server does and verifies that it did it right.
//
// One run goes through these phases:
//
//  1. checkin: every camper connects and checks in (CheckinConcurrency at a
//     time); the server seats them in groups of its --group-size.
//  2. session: in every group the first member to have joined starts a peer
//     session whose maxCount is the group's total messages.
//  3. send: every camper (or the first Senders of each group) sends Messages messages (InFlight on the wire at
//     once, at most Rate per second for all campers together, for at most
//     Duration). Each text starts with the send time, the sender and the
//     message's number, so that every receiver measures send→delivery
//     latency and knows what it got.
//  4. drain: the bench waits until every receiver has every message
//     (DeliveryTimeout at most).
//  5. limit: in every group that used its whole maxCount, the host sends one
//     message more, which the server must refuse with limit-reached.
//  6. checkout: every camper checks out; the server closes the connections.
//
// Then it verifies: every accepted message reached every other member of
// its group exactly once and in order (seq rising), no group had more than
// GroupSize members, no session accepted more than maxCount messages, each
// seq was given once. A Probe, when set, samples the server's memory and
// goroutines before checkin, with everyone checked in, and after everyone
// left, and (a server in another process) the CPU time the server used from
// the first send until the last delivery.
//
// A baseline run (Config.Baseline) makes the same load over plain NATS,
// against a standalone nats-server, with no campbus in between: see
// baseline.go.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campbus/campbus"
)

// Config says what load to make. Zero fields take the defaults of
// DefaultConfig where that makes sense.
type Config struct {
	// Addr is the server's campers' address, host:port.
	Addr string
	// Groups and GroupSize give the number of campers: Groups×GroupSize.
	// GroupSize must be the server's --group-size.
	Groups    int
	GroupSize int
	// Messages each sender sends. A group's session has maxCount
	// Senders×Messages, at most 10000.
	Messages int
	// Senders is how many members of each group send, the first to join
	// first; 0 means all of them. Every member receives.
	Senders int
	// InFlight bounds each camper's requests on the wire at once.
	InFlight int
	// Size is the length of each message's text in bytes (at least the
	// bench's own header of about 25 bytes).
	Size int
	// Duration bounds the send phase; 0 means until every message is sent.
	Duration time.Duration
	// Rate bounds the messages sent per second by all campers together;
	// 0 sends as fast as the server answers.
	Rate float64
	// CampIDs is the range the server admits; the bench uses its first
	// Groups×GroupSize ids.
	CampIDs campbus.IDRange
	// CheckinConcurrency is how many campers connect and check in at once.
	CheckinConcurrency int
	// DeliveryTimeout bounds the wait for the last deliveries after the
	// send phase, and every other phase's wait for the server.
	DeliveryTimeout time.Duration
	// Transport is TransportRaw or TransportClient.
	Transport string
	// Baseline, when set, runs the same workload over plain NATS instead of
	// campbus: BaselineJetStream or BaselineCore, against the nats-server
	// at NATSURL. Addr, CampIDs and Transport are then unused.
	Baseline string
	NATSURL  string
	// Progress receives a line every ProgressEvery while the bench runs;
	// nil prints none.
	Progress      io.Writer
	ProgressEvery time.Duration
	// Probe samples the server's footprint; nil skips memory figures.
	Probe Probe
	// Settle is how long at least to wait after everyone left before the
	// last sample, so that caches the server keeps for a while can expire.
	Settle time.Duration
	// ReadyFile, when set, is created once every camper is checked in and
	// every session started; GoFile, when set, is waited for (polled)
	// before the first message is sent. Together they let several bench
	// processes check in one after another, each filling whole groups of
	// its own, then send at once (scripts/bench-scale.sh).
	ReadyFile string
	GoFile    string
	// CheckedIn, when set, runs once every camper is checked in, before the
	// sessions start (a heap profile, say).
	CheckedIn func()
	// Left, when set, runs once every camper has left and the server settled.
	Left func()
}

// DefaultConfig returns the defaults of `campbus bench`.
func DefaultConfig() Config {
	return Config{
		Addr:               "127.0.0.1:2022",
		Groups:             64,
		GroupSize:          4,
		Messages:           500,
		InFlight:           1,
		Size:               128,
		CampIDs:            campbus.MustParseIDRange(campbus.DefaultCampIDs),
		CheckinConcurrency: 8,
		DeliveryTimeout:    30 * time.Second,
		Transport:          TransportRaw,
		ProgressEvery:      time.Second,
	}
}

// maxSessionMessages is the protocol's highest maxCount.
const maxSessionMessages = 10000

// Validate fills in defaults for zero fields and checks the rest.
func (c *Config) Validate() error {
	d := DefaultConfig()
	if c.CampIDs.Width == 0 {
		c.CampIDs = d.CampIDs
	}
	if c.GroupSize <= 0 {
		c.GroupSize = d.GroupSize
	}
	if c.InFlight <= 0 {
		c.InFlight = 1
	}
	if c.CheckinConcurrency <= 0 {
		c.CheckinConcurrency = d.CheckinConcurrency
	}
	if c.DeliveryTimeout <= 0 {
		c.DeliveryTimeout = d.DeliveryTimeout
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = d.ProgressEvery
	}
	if c.Transport == "" {
		c.Transport = TransportRaw
	}
	switch {
	case c.Groups <= 0:
		return errors.New("bench: groups must be at least 1")
	case c.GroupSize < 2:
		return errors.New("bench: campers per group must be at least 2 (someone must receive)")
	case c.Messages < 0:
		return errors.New("bench: messages must not be negative")
	case c.Senders < 0 || c.Senders > c.GroupSize:
		return fmt.Errorf("bench: senders per group must be from 0 (all) to %d", c.GroupSize)
	case c.Rate < 0:
		return errors.New("bench: rate must not be negative")
	case c.Baseline != "":
		return c.validateBaseline()
	case c.Addr == "":
		return errors.New("bench: no server address")
	case c.Messages*c.sendersPerGroup() > maxSessionMessages:
		return fmt.Errorf("bench: a group's session would need maxCount %d; the protocol allows %d (lower messages per camper)",
			c.Messages*c.sendersPerGroup(), maxSessionMessages)
	case c.Groups*c.GroupSize > c.CampIDs.Size():
		return fmt.Errorf("bench: %d campers need %d camp ids; the range %s has %d (use --camp-ids, the server's as well)",
			c.Groups*c.GroupSize, c.Groups*c.GroupSize, c.CampIDs, c.CampIDs.Size())
	case c.Transport != TransportRaw && c.Transport != TransportClient:
		return fmt.Errorf("bench: unknown transport %q (raw or client)", c.Transport)
	}
	return nil
}

// sendersPerGroup is how many members of a full group send.
func (c *Config) sendersPerGroup() int {
	if c.Senders == 0 {
		return c.GroupSize
	}
	return c.Senders
}

// run is one bench run in progress.
type run struct {
	cfg     Config
	start   time.Time // texts carry send times relative to it
	campers []*camper
	groups  []*group

	phase atomic.Value // string: the phase the progress line names

	// Live counters, for progress lines.
	checkins, accepted, delivered, failed atomic.Int64

	delivery histogram // send → delivery at each receiver
	response histogram // send → response at the sender

	mu         sync.Mutex
	errors     map[string]int // "command code" → count; mu must be held
	violations []string       // mu must be held
	nViolation int            // mu must be held
}

// maxViolationsKept bounds the sentences kept; all are counted.
const maxViolationsKept = 20

// nodeAddr returns the address camper idx connects to: Addr may list
// several nodes of a cluster, comma-separated, and campers are spread over
// them in turn, so every group has members on several nodes.
func (c Config) nodeAddr(idx int) string {
	addrs := strings.Split(c.Addr, ",")
	return strings.TrimSpace(addrs[idx%len(addrs)])
}

// Run runs the bench against cfg.Addr (or, for a baseline, cfg.NATSURL).
// It returns an error only when it cannot run at all; what went wrong on
// the server's side (errors, violations) is in the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, start: time.Now(), errors: map[string]int{}}
	r.phase.Store("start")
	res := &Result{Config: summarize(cfg)}

	stopProgress := r.progress()
	defer stopProgress()

	if cfg.Probe != nil {
		res.Footprint = &Footprint{Scope: cfg.Probe.Scope()}
		if err := sampleInto(cfg.Probe, &res.Footprint.Idle); err != nil {
			return nil, err
		}
	}

	defer r.closeAll()
	if cfg.Baseline != "" {
		r.phase.Store("connect")
		dropStream, err := r.connectAll(ctx, res)
		if err != nil {
			return nil, err
		}
		defer dropStream()
	} else {
		r.phase.Store("checkin")
		cpu, err := startCPUWindow(cfg.Probe)
		if err != nil {
			return nil, err
		}
		var self *cpuWindow
		if cpu != nil {
			// The server is another process: what the bench spends is apart.
			if self, err = startCPUWindow(ProcessProbe{PID: os.Getpid()}); err != nil {
				return nil, err
			}
		}
		res.Checkin = r.checkinAll(ctx)
		if res.Checkin.Count == 0 {
			return nil, fmt.Errorf("bench: no camper could check in at %s (errors: %v)", cfg.Addr, r.errorCounts())
		}
		if res.Checkin.ServerCPU, err = cpu.stop(int64(res.Checkin.Count)); err != nil {
			return nil, err
		}
		if res.Checkin.BenchCPU, err = self.stop(int64(res.Checkin.Count)); err != nil {
			return nil, err
		}
		r.formGroups()
	}
	res.Groups = len(r.groups)
	if cfg.Probe != nil {
		if err := sampleInto(cfg.Probe, &res.Footprint.CheckedIn); err != nil {
			return nil, err
		}
	}
	if cfg.CheckedIn != nil {
		cfg.CheckedIn()
	}

	if cfg.Baseline == "" {
		r.phase.Store("session")
		res.Sessions = r.startSessions(ctx)
	}

	if err := r.readyToSend(ctx); err != nil {
		return nil, err
	}

	// The server's CPU is measured from the first send until the last
	// delivery: all the work the messages made, and nothing else.
	r.phase.Store("send")
	cpu, err := startCPUWindow(cfg.Probe)
	if err != nil {
		return nil, err
	}
	res.Send = r.sendAll(ctx)
	r.phase.Store("drain")
	r.drain(ctx)
	if res.Send.ServerCPU, err = cpu.stop(r.accepted.Load()); err != nil {
		return nil, err
	}

	if cfg.Baseline == "" {
		r.phase.Store("limit")
		before := r.accepted.Load()
		res.LimitProbes = r.probeLimits(ctx)
		if r.accepted.Load() != before {
			// A message past maxCount was accepted (a violation): its
			// deliveries are due as well.
			r.drain(ctx)
		}
	}
	res.Send.finish(r)

	if cfg.Baseline == "" {
		r.phase.Store("checkout")
		res.Checkout = r.checkoutAll(ctx)
	}
	r.closeAll()
	res.Verify = r.verify()
	// Let the connections' memory go before the server is sampled: in an
	// embedded run the bench shares the heap with the server.
	for _, c := range r.campers {
		c.t, c.nats = nil, nil
	}

	if cfg.Probe != nil {
		r.phase.Store("settle")
		fp, err := settle(ctx, cfg.Probe, res.Footprint.Idle, cfg.Settle, cfg.DeliveryTimeout)
		if err != nil {
			return nil, fmt.Errorf("bench: probe: %w", err)
		}
		res.Footprint.AfterLeave = fp
		res.Footprint.derive(max(res.Checkin.Count, res.connected()))
	}
	if cfg.Left != nil {
		cfg.Left()
	}
	r.phase.Store("done")

	res.Latency = r.delivery.summary()
	res.ResponseLatency = r.response.summary()
	res.Errors = r.errorCounts()
	return res, nil
}

// sequenced reports whether the server gives every message of a group a
// seq, in the order its members receive them: campbus and JetStream do,
// core NATS does not (its receivers check each sender's order instead).
func (r *run) sequenced() bool { return r.cfg.Baseline != BaselineCore }

// countError counts a request that failed with code (or an I/O error).
func (r *run) countError(command, code string) {
	r.failed.Add(1)
	r.mu.Lock()
	r.errors[command+" "+code]++
	r.mu.Unlock()
}

func (r *run) errorCounts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.errors))
	for k, v := range r.errors {
		out[k] = v
	}
	return out
}

// violation records a broken rule.
func (r *run) violation(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nViolation++
	if len(r.violations) < maxViolationsKept {
		r.violations = append(r.violations, fmt.Sprintf(format, args...))
	}
}

// parallel runs f for each index below n, at most width at a time, and
// stops starting new ones when ctx ends.
func parallel(ctx context.Context, n, width int, f func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < min(width, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// checkinAll connects and checks in every camper.
func (r *run) checkinAll(ctx context.Context) Phase {
	n := r.cfg.Groups * r.cfg.GroupSize
	r.campers = make([]*camper, n)
	for i := range r.campers {
		r.campers[i] = newCamper(r, i, r.cfg.CampIDs.Format(r.cfg.CampIDs.Min+i))
	}
	began := time.Now()
	parallel(ctx, n, r.cfg.CheckinConcurrency, func(i int) {
		if r.campers[i].checkin(ctx) {
			r.checkins.Add(1)
		}
	})
	return newPhase(int(r.checkins.Load()), time.Since(began))
}

// formGroups gathers the checked-in campers by the group the server gave
// them, and checks that no group is over its size.
func (r *run) formGroups() {
	byNumber := map[int]*group{}
	for _, c := range r.campers {
		if !c.in {
			continue
		}
		g := byNumber[c.groupN]
		if g == nil {
			g = &group{n: c.groupN}
			byNumber[c.groupN] = g
			r.groups = append(r.groups, g)
		}
		g.members = append(g.members, c)
	}
	sort.Slice(r.groups, func(i, j int) bool { return r.groups[i].n < r.groups[j].n })
	for _, g := range r.groups {
		// The first to join is the one whose checkin saw the fewest members.
		sort.SliceStable(g.members, func(i, j int) bool { return g.members[i].joinedAs < g.members[j].joinedAs })
		if len(g.members) > r.cfg.GroupSize {
			r.violation("group#%d has %d bench members, over its size %d", g.n, len(g.members), r.cfg.GroupSize)
		}
		// Readers learn maxCount through the atomic store of the group.
		g.maxCount = g.senders(r.cfg.Senders) * r.cfg.Messages
		for _, c := range g.members {
			c.group.Store(g)
		}
	}
}

// startSessions starts one peer session per group of two or more, and
// returns how many started.
func (r *run) startSessions(ctx context.Context) int {
	var started atomic.Int64
	parallel(ctx, len(r.groups), r.cfg.CheckinConcurrency, func(i int) {
		g := r.groups[i]
		if len(g.members) < 2 || r.cfg.Messages == 0 {
			return
		}
		g.session = g.members[0].startSession(ctx, g.maxCount)
		if g.session {
			started.Add(1)
		}
	})
	return int(started.Load())
}

// sendAll runs every sender of a group with a session and waits until
// each has its responses.
func (r *run) sendAll(ctx context.Context) Send {
	var senders []*camper
	for _, g := range r.groups {
		if g.session {
			senders = append(senders, g.members[:g.senders(r.cfg.Senders)]...)
		}
	}
	s := Send{Senders: len(senders)}
	if len(senders) == 0 {
		return s
	}
	began := time.Now()
	deadline := time.Time{}
	if r.cfg.Duration > 0 {
		deadline = began.Add(r.cfg.Duration)
	}
	var interval time.Duration
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(len(senders)) / r.cfg.Rate * float64(time.Second))
	}
	var wg sync.WaitGroup
	for i, c := range senders {
		// Spread the campers' schedules over one interval.
		offset := time.Duration(0)
		if interval > 0 {
			offset = interval * time.Duration(i) / time.Duration(len(senders))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.send(ctx, began.Add(offset), interval, deadline)
		}()
	}
	wg.Wait()
	s.sendSeconds = time.Since(began).Seconds()
	s.began = began
	return s
}

// probeLimits sends one message past maxCount in every group that used its
// whole session, and requires limit-reached.
func (r *run) probeLimits(ctx context.Context) LimitProbes {
	var full []*group
	for _, g := range r.groups {
		if g.session && g.acceptedTotal() == g.maxCount {
			full = append(full, g)
		}
	}
	var lp LimitProbes
	var mu sync.Mutex
	parallel(ctx, len(full), r.cfg.CheckinConcurrency, func(i int) {
		refused := full[i].members[0].probeLimit(ctx)
		mu.Lock()
		lp.Groups++
		if refused {
			lp.Refused++
		}
		mu.Unlock()
	})
	return lp
}

// drain waits until every receiver has every message its group accepted
// from the others, or DeliveryTimeout passes.
func (r *run) drain(ctx context.Context) {
	for _, g := range r.groups {
		g.expect()
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DeliveryTimeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		waiting := false
		for _, c := range r.campers {
			if c.in && c.rx.count.Load() < c.expected.count {
				waiting = true
				break
			}
		}
		if !waiting {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// checkoutAll checks every camper out.
func (r *run) checkoutAll(ctx context.Context) Phase {
	began := time.Now()
	var n atomic.Int64
	parallel(ctx, len(r.campers), r.cfg.CheckinConcurrency, func(i int) {
		if r.campers[i].checkout(ctx) {
			n.Add(1)
		}
	})
	return newPhase(int(n.Load()), time.Since(began))
}

// closeAll closes every connection still open and waits for its reader.
func (r *run) closeAll() {
	for _, c := range r.campers {
		switch {
		case c == nil:
		case c.t != nil:
			c.t.close()
		case c.nats != nil:
			c.nats.close()
		}
	}
}

// progress prints a line every ProgressEvery until the returned func is called.
func (r *run) progress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(r.cfg.ProgressEvery)
		defer tick.Stop()
		var lastAcc, lastDel int64
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				acc, del := r.accepted.Load(), r.delivered.Load()
				secs := now.Sub(last).Seconds()
				fmt.Fprintf(r.cfg.Progress, "bench %6.1fs %-8s checkins %d  accepted %d (%.0f/s)  delivered %d (%.0f/s)  errors %d\n",
					now.Sub(r.start).Seconds(), r.phase.Load(), r.checkins.Load(),
					acc, float64(acc-lastAcc)/secs, del, float64(del-lastDel)/secs, r.failed.Load())
				lastAcc, lastDel, last = acc, del, now
			}
		}
	}()
	return func() {
		select {
		case <-done:
		default:
			close(done)
		}
		<-finished
	}
}

// readyToSend creates the ready file and waits for the go file, when the
// configuration names them.
func (r *run) readyToSend(ctx context.Context) error {
	if r.cfg.ReadyFile != "" {
		if err := os.WriteFile(r.cfg.ReadyFile, nil, 0o644); err != nil {
			return fmt.Errorf("bench: ready file: %w", err)
		}
	}
	if r.cfg.GoFile == "" {
		return nil
	}
	r.phase.Store("wait")
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(r.cfg.GoFile); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: waiting for %s: %w", r.cfg.GoFile, ctx.Err())
		case <-tick.C:
		}
	}
}
