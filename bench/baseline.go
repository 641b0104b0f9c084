package bench

// Baselines: the bench's workload over plain NATS, against a standalone
// nats-server, with nothing of campbus in between. The campers and their
// groups, the texts, the send loop (in flight, rate, duration), the
// receivers and the verification are those of a campbus run; only the wire
// differs: each camper is one NATS connection, that publishes its messages
// and subscribes to its group's subject.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// Baselines.
const (
	// BaselineJetStream: every camper publishes to a file stream on
	// log.group.<n> and awaits each ack; the stream republishes what it
	// stored on group.<n>, where every member of the group listens with a
	// core subscription (and skips its own messages). It is the path
	// campbus's bus takes, without campbus's front-end, bus requests,
	// handlers and dispatch.
	BaselineJetStream = "jetstream"
	// BaselineCore: plain publishes on group.<n>, every member subscribed
	// to it (the sender gets no copy: no echo), nothing stored. A message
	// counts as accepted once a flush after it came back (a PING answered
	// by the server, which has then routed everything published before).
	BaselineCore = "core"
)

// BaselineStream is the stream a JetStream baseline makes (in place of any
// stream of that name) and deletes when done.
const BaselineStream = "CAMPBUS_BASELINE"

// createRetry bounds how long the baseline tries to create its stream
// while the server fails to make its store (errStoreFailed, nats-server's
// JSStreamStoreFailedF).
const (
	createRetry                        = 5 * time.Second
	errStoreFailed jetstream.ErrorCode = 10049
)

// baselineWhat says what a baseline measures, for the result's title.
var baselineWhat = map[string]string{
	BaselineJetStream: "JetStream: publish to a file stream on log.group.<n>, ack awaited; republished on group.<n>",
	BaselineCore:      "core NATS: publish on group.<n>, flushed; nothing stored",
}

func (c *Config) validateBaseline() error {
	switch {
	case c.Baseline != BaselineJetStream && c.Baseline != BaselineCore:
		return fmt.Errorf("bench: unknown baseline %q (jetstream or core)", c.Baseline)
	case c.NATSURL == "":
		return errors.New("bench: a baseline needs the nats-server's URL")
	}
	return nil
}

// connectAll seats the campers of a baseline run in groups of GroupSize in
// turn, connects each to the nats-server and subscribes it to its group's
// subject. For JetStream it makes the stream first; the func it returns
// deletes it.
func (r *run) connectAll(ctx context.Context, res *Result) (func(), error) {
	drop := func() {}
	if r.cfg.Baseline == BaselineJetStream {
		var err error
		if drop, err = makeBaselineStream(ctx, r.cfg.NATSURL); err != nil {
			return nil, err
		}
	}
	size := r.cfg.GroupSize
	r.campers = make([]*camper, r.cfg.Groups*size)
	for i := range r.campers {
		r.campers[i] = newCamper(r, i, "camper"+strconv.Itoa(i))
		r.campers[i].groupN = i/size + 1
	}
	began := time.Now()
	parallel(ctx, len(r.campers), r.cfg.CheckinConcurrency, func(i int) {
		if r.campers[i].connect(ctx) {
			r.checkins.Add(1)
		}
	})
	p := newPhase(int(r.checkins.Load()), time.Since(began))
	res.Connect = &p
	if p.Count == 0 {
		drop()
		return nil, fmt.Errorf("bench: no camper could connect to %s (errors: %v)", r.cfg.NATSURL, r.errorCounts())
	}
	for n := 1; n <= r.cfg.Groups; n++ {
		g := &group{n: n, session: true}
		for _, c := range r.campers[(n-1)*size : n*size] {
			if c.in {
				g.members = append(g.members, c)
				c.group.Store(g)
			}
		}
		r.groups = append(r.groups, g)
	}
	return drop, nil
}

// makeBaselineStream makes the JetStream baseline's stream: file storage,
// subjects and republish as campbus's GROUPS.
func makeBaselineStream(ctx context.Context, url string) (drop func(), err error) {
	nc, err := nats.Connect(url, nats.Name("campbus-bench"), nats.NoReconnect())
	if err != nil {
		return nil, fmt.Errorf("bench: connect to %s: %w", url, err)
	}
	defer func() {
		if err != nil {
			nc.Close()
		}
	}()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := js.DeleteStream(ctx, BaselineStream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("bench: delete stream %s: %w", BaselineStream, err)
	}
	logGroups := bus.LogPrefix + bus.GroupPrefix + "*"
	// A stream of the same name deleted a moment ago (an earlier run)
	// may still be leaving the server's disk, and the server then fails
	// to create its store: try again for a few seconds.
	retryUntil := time.Now().Add(createRetry)
retry:
	for {
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:              BaselineStream,
			Description:       "campbus bench baseline: messages on log.group.<n>, republished on group.<n>",
			Subjects:          []string{logGroups},
			Storage:           jetstream.FileStorage,
			MaxMsgsPerSubject: bus.DefaultGroupEvents,
			RePublish:         &jetstream.RePublish{Source: logGroups, Destination: bus.GroupPrefix + "{{wildcard(1)}}"},
		})
		var apiErr *jetstream.APIError
		if err == nil || !errors.As(err, &apiErr) || apiErr.ErrorCode != errStoreFailed || time.Now().After(retryUntil) {
			break
		}
		select {
		case <-ctx.Done():
			break retry
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bench: create stream %s: %w", BaselineStream, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, BaselineStream)
		nc.Close()
	}, nil
}

// connect connects a baseline camper; it reports whether the camper is in.
func (c *camper) connect(ctx context.Context) bool {
	n, err := dialNATS(ctx, c)
	if err != nil {
		c.r.countError("connect", "dial")
		return false
	}
	c.nats, c.in = n, true
	return true
}

// natsCamper is a baseline camper's NATS connection.
type natsCamper struct {
	c       *camper
	nc      *nats.Conn
	js      jetstream.JetStream // JetStream baseline; nil for core
	subject string              // where the camper publishes

	// mu guards what the publishes, the NATS callbacks and close share.
	// Once closed, no callback touches the camper: the verifier reads it.
	mu        sync.Mutex
	closed    bool
	pending   map[*nats.Msg]sent // JetStream: published, ack awaited
	unflushed []sent             // core: published, not flushed since
	kick      chan struct{}      // core: wakes the flusher
	flusher   sync.WaitGroup
}

// sent is a message on its way: its number, when it was sent, and what to
// run once it is answered.
type sent struct {
	num     int
	at      time.Duration
	release func()
}

// dialNATS connects camper c and subscribes it to its group's subject.
func dialNATS(ctx context.Context, c *camper) (*natsCamper, error) {
	core := c.r.cfg.Baseline == BaselineCore
	opts := []nats.Option{nats.Name("campbus-bench " + c.id), nats.NoReconnect()}
	if core {
		opts = append(opts, nats.NoEcho())
	}
	nc, err := nats.Connect(c.r.cfg.NATSURL, opts...)
	if err != nil {
		return nil, err
	}
	n := &natsCamper{c: c, nc: nc, subject: bus.GroupSubject(c.groupN)}
	if !core {
		n.subject, n.pending = bus.LogGroupSubject(c.groupN), map[*nats.Msg]sent{}
		n.js, err = jetstream.New(nc, jetstream.WithPublishAsyncAckHandler(n.onAck),
			jetstream.WithPublishAsyncErrHandler(n.onPublishError), jetstream.WithPublishAsyncTimeout(callTimeout))
	}
	if err == nil {
		_, err = nc.Subscribe(bus.GroupSubject(c.groupN), n.onMsg)
	}
	if err == nil {
		// The subscription is in place at the server before anyone sends.
		err = nc.FlushWithContext(ctx)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	if core {
		n.kick = make(chan struct{}, 1)
		n.flusher.Add(1)
		go n.flushLoop()
	}
	return n, nil
}

// publish sends message num; release runs once it is answered.
func (n *natsCamper) publish(num int, at time.Duration, release func()) {
	m := &nats.Msg{Subject: n.subject, Data: n.c.appendText(make([]byte, 0, n.c.r.cfg.Size+32), at, num)}
	s := sent{num: num, at: at, release: release}
	if n.js == nil {
		if err := n.nc.PublishMsg(m); err != nil {
			n.answer(s, 0, err)
			return
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.closed {
			return
		}
		n.unflushed = append(n.unflushed, s)
		select {
		case n.kick <- struct{}{}:
		default: // the flusher is already due to look
		}
		return
	}
	// Registered first: the ack may come before PublishMsgAsync returns.
	n.mu.Lock()
	n.pending[m] = s
	n.mu.Unlock()
	if _, err := n.js.PublishMsgAsync(m); err != nil {
		n.mu.Lock()
		delete(n.pending, m)
		n.mu.Unlock()
		n.answer(s, 0, err)
	}
}

// flushLoop confirms the core publishes: a flush (PING, PONG) answers every
// publish made before it.
func (n *natsCamper) flushLoop() {
	defer n.flusher.Done()
	for range n.kick {
		n.mu.Lock()
		batch := n.unflushed
		n.unflushed = nil
		n.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		err := n.nc.FlushTimeout(callTimeout)
		for _, s := range batch {
			n.answer(s, 0, err)
		}
	}
}

func (n *natsCamper) onAck(_ jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
	if s, ok := n.take(m); ok {
		n.answer(s, ack.Sequence, nil)
	}
}

func (n *natsCamper) onPublishError(_ jetstream.JetStream, m *nats.Msg, err error) {
	if s, ok := n.take(m); ok {
		n.answer(s, 0, err)
	}
}

// take removes a JetStream publish from those awaiting an ack.
func (n *natsCamper) take(m *nats.Msg) (sent, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s, ok := n.pending[m]
	delete(n.pending, m)
	return s, ok
}

// answer records what became of a message: accepted with seq (0 for core),
// or failed with err.
func (n *natsCamper) answer(s sent, seq uint64, err error) {
	c := n.c
	if err != nil {
		c.r.countError("publish", publishErrorCode(err))
	} else {
		c.r.response.record(time.Since(c.r.start) - s.at)
		c.addAccepted(int(seq), s.num)
	}
	s.release()
}

// publishErrorCode names a failed publish in the error counts.
func publishErrorCode(err error) string {
	var apiErr *jetstream.APIError
	switch {
	case errors.As(err, &apiErr):
		return "jetstream-" + strconv.Itoa(int(apiErr.ErrorCode))
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		return "timeout"
	}
	return "io"
}

// onMsg receives a message of the camper's group.
func (n *natsCamper) onMsg(m *nats.Msg) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	c := n.c
	text := string(m.Data)
	seq := 0
	if n.js != nil {
		seq, _ = strconv.Atoi(m.Header.Get(jetstream.SequenceHeader))
		if _, from, _, ok := parseText(text); ok && from == c.idx {
			return // the stream republishes to every subscriber, the sender too
		}
	}
	g, _ := strconv.Atoi(strings.TrimPrefix(m.Subject, bus.GroupPrefix))
	c.onMessage(&event{Type: campbus.EventMessage, Group: g, Text: text, Seq: seq})
}

// close closes the connection; from then on no callback touches the camper.
func (n *natsCamper) close() {
	n.nc.Close()
	n.mu.Lock()
	already := n.closed
	n.closed = true
	if !already && n.kick != nil {
		close(n.kick)
	}
	n.mu.Unlock()
	n.flusher.Wait()
}
