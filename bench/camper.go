package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campbus/campbus"
)

// camper is one bench camper: a connection, what its checkin said, what it
// sent and what it received.
type camper struct {
	r   *run
	idx int
	id  string
	t   transport

	// Written by checkin, read after the checkin phase.
	in       bool
	groupN   int
	joinedAs int // how many members the checkin response listed: 1 for a group's first
	group    atomic.Pointer[group]

	// nats is the camper's connection in a baseline run (t is then nil).
	nats *natsCamper

	// Sender side. Response callbacks write it (concurrently with the client
	// transport), the verifier reads it after the send phase.
	mu       sync.Mutex
	accepted []accepted // mu must be held

	// Receiver side: the event callback owns rx; count and lastAt are
	// atomic because the drain and the progress line read them meanwhile.
	rx       receiver
	expected expectation // set by group.expect before the drain
}

// accepted is one message the server accepted from this camper.
type accepted struct{ seq, num int }

// receiver is what one camper saw of its group's messages.
type receiver struct {
	count  atomic.Int64
	lastAt atomic.Int64 // ns since the run's start of the last delivery
	// Owned by the event callback; read once the connection has ended.
	sum        uint64 // of tag(seq, from, num) over messages received
	lastSeq    int
	outOfOrder int // seq not above the one before: a duplicate or a reordering
	own        int // the camper's own message came back as an event
	overLimit  int // seq above the session's maxCount
	misrouted  int // a message of another group
	foreign    int // a message whose text is not the bench's (someone else in the group)
	oversize   int // join events listing more members than the group size

	// lastNum is, where messages have no seq (core NATS), the number of
	// each sender's last message: they must come in the order sent.
	lastNum map[int]int
}

// expectation is what a receiver should have got: every message its group
// accepted from the others.
type expectation struct {
	count int64
	sum   uint64
}

func newCamper(r *run, idx int, id string) *camper { return &camper{r: r, idx: idx, id: id} }

// phaseCtx bounds one request of the setup phases by DeliveryTimeout.
func (c *camper) phaseCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.r.cfg.DeliveryTimeout)
}

// checkin connects and checks in. It reports whether the camper is in.
func (c *camper) checkin(ctx context.Context) bool {
	ctx, cancel := c.phaseCtx(ctx)
	defer cancel()
	t, err := dialTransport(ctx, c.r.cfg.Transport, c.r.cfg.nodeAddr(c.idx), c.onEvent)
	if err != nil {
		c.r.countError(campbus.CmdCheckin, "dial")
		return false
	}
	c.t = t
	body, _ := json.Marshal(campbus.CheckinRequest{CampID: c.id})
	status, resp, err := do(ctx, t, campbus.CmdCheckin, body)
	if !c.ok(campbus.CmdCheckin, status, resp, err) {
		t.close()
		return false
	}
	var cr campbus.CheckinResponse
	if err := json.Unmarshal(resp, &cr); err != nil || cr.Group <= 0 {
		c.r.violation("checkin %s: response %s is not a checkin response", c.id, resp)
		t.close()
		return false
	}
	if len(cr.Members) > c.r.cfg.GroupSize {
		c.r.violation("checkin %s: group#%d has %d members %v, over its size %d", c.id, cr.Group, len(cr.Members), cr.Members, c.r.cfg.GroupSize)
	}
	c.in, c.groupN, c.joinedAs = true, cr.Group, len(cr.Members)
	return true
}

// ok reports whether a response is a 200, counting it as an error if not.
func (c *camper) ok(command string, status int, body []byte, err error) bool {
	switch {
	case err != nil:
		c.r.countError(command, "io")
		return false
	case status != http.StatusOK:
		c.r.countError(command, errorCode(status, body))
		return false
	}
	return true
}

// errorCode returns the code of an error response.
func errorCode(status int, body []byte) string {
	var e campbus.Error
	if json.Unmarshal(body, &e) != nil || e.Code == "" {
		return strconv.Itoa(status)
	}
	return e.Code
}

// startSession starts the group's peer session with maxCount messages.
func (c *camper) startSession(ctx context.Context, maxCount int) bool {
	ctx, cancel := c.phaseCtx(ctx)
	defer cancel()
	body, _ := json.Marshal(campbus.PeerSessionRequest{MaxCount: maxCount})
	status, resp, err := do(ctx, c.t, campbus.CmdPeerSession, body)
	return c.ok(campbus.CmdPeerSession, status, resp, err)
}

// send sends the camper's messages: the first at first, then one every
// interval (as fast as allowed when interval is 0), InFlight at most on the
// wire, until deadline (if set). It returns when every response is in.
func (c *camper) send(ctx context.Context, first time.Time, interval time.Duration, deadline time.Time) {
	inFlight := make(chan struct{}, c.r.cfg.InFlight)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for i := 0; i < c.r.cfg.Messages; i++ {
		if interval > 0 {
			if wait := time.Until(first.Add(interval * time.Duration(i))); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-ctx.Done():
				case <-timer.C:
				}
			}
		}
		if ctx.Err() != nil || c.ended() || (!deadline.IsZero() && time.Now().After(deadline)) {
			break
		}
		inFlight <- struct{}{}
		c.post(i, time.Since(c.r.start), func() { <-inFlight })
	}
	for range cap(inFlight) {
		inFlight <- struct{}{}
	}
}

// post sends message num, sent at sentAt; release runs once its answer is
// in (and recorded).
func (c *camper) post(num int, sentAt time.Duration, release func()) {
	if c.nats != nil {
		c.nats.publish(num, sentAt, release)
		return
	}
	c.t.call(campbus.CmdMessage, c.messageBody(sentAt, num), func(status int, body []byte, err error) {
		c.onMessageResponse(num, sentAt, status, body, err)
		release()
	})
}

// ended reports whether the camper's connection has ended.
func (c *camper) ended() bool {
	if c.nats != nil {
		return c.nats.nc.IsClosed()
	}
	select {
	case <-c.t.ended():
		return true
	default:
		return false
	}
}

// messageBody returns {"text":"<sentAt>.<camper>.<num>.xxx…"} with a text of
// cfg.Size bytes (or the header alone if it is longer).
func (c *camper) messageBody(sentAt time.Duration, num int) []byte {
	b := make([]byte, 0, c.r.cfg.Size+48)
	b = append(b, `{"text":"`...)
	b = c.appendText(b, sentAt, num)
	return append(b, `"}`...)
}

// appendText appends the text of message num, "<sentAt>.<camper>.<num>.xxx…",
// cfg.Size bytes long (or the header alone if it is longer), to b.
func (c *camper) appendText(b []byte, sentAt time.Duration, num int) []byte {
	head := len(b)
	b = strconv.AppendInt(b, int64(sentAt), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(c.idx), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(num), 10)
	b = append(b, '.')
	for len(b)-head < c.r.cfg.Size {
		b = append(b, 'x')
	}
	return b
}

// parseText reads back what messageBody wrote; ok is false for any other text.
func parseText(text string) (sentAt time.Duration, from, num int, ok bool) {
	var parts [3]int64
	rest := text
	for i := range parts {
		dot := strings.IndexByte(rest, '.')
		if dot <= 0 {
			return 0, 0, 0, false
		}
		n, err := strconv.ParseInt(rest[:dot], 10, 64)
		if err != nil || n < 0 {
			return 0, 0, 0, false
		}
		parts[i], rest = n, rest[dot+1:]
	}
	return time.Duration(parts[0]), int(parts[1]), int(parts[2]), true
}

// tag identifies one delivery for the receivers' checksums.
func tag(seq, from, num int) uint64 {
	x := uint64(seq)<<42 ^ uint64(from)<<21 ^ uint64(num)
	// splitmix64's finaliser: a sum of these differs, with overwhelming
	// odds, as soon as one message is missing, wrong or doubled.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// onMessageResponse records the answer to message num.
func (c *camper) onMessageResponse(num int, sentAt time.Duration, status int, body []byte, err error) {
	if !c.ok(campbus.CmdMessage, status, body, err) {
		return
	}
	c.r.response.record(time.Since(c.r.start) - sentAt)
	var mr campbus.MessageResponse
	if err := json.Unmarshal(body, &mr); err != nil {
		c.r.violation("message from %s: response %s is not a message response", c.id, body)
		return
	}
	c.recordAccepted(mr, num)
}

func (c *camper) recordAccepted(mr campbus.MessageResponse, num int) {
	g := c.group.Load()
	if mr.Seq < 1 || mr.Seq > g.maxCount || mr.Remaining != g.maxCount-mr.Seq {
		c.r.violation("group#%d: message from %s accepted with seq %d, remaining %d; the session's maxCount is %d",
			g.n, c.id, mr.Seq, mr.Remaining, g.maxCount)
	}
	c.addAccepted(mr.Seq, num)
}

// addAccepted records that message num was accepted with seq.
func (c *camper) addAccepted(seq, num int) {
	c.mu.Lock()
	c.accepted = append(c.accepted, accepted{seq: seq, num: num})
	c.mu.Unlock()
	c.r.accepted.Add(1)
}

// probeLimit sends one message past the session's maxCount; it reports
// whether the server refused it with limit-reached.
func (c *camper) probeLimit(ctx context.Context) bool {
	ctx, cancel := c.phaseCtx(ctx)
	defer cancel()
	num := c.r.cfg.Messages // one past the camper's last
	status, body, err := do(ctx, c.t, campbus.CmdMessage, c.messageBody(time.Since(c.r.start), num))
	switch {
	case err != nil:
		c.r.countError(campbus.CmdMessage, "io")
	case status == http.StatusOK:
		g := c.group.Load()
		c.r.violation("group#%d: a message past maxCount %d was accepted: %s", g.n, g.maxCount, body)
		var mr campbus.MessageResponse
		if json.Unmarshal(body, &mr) == nil {
			c.recordAccepted(mr, num)
		}
	case errorCode(status, body) == campbus.CodeLimitReached:
		return true
	default:
		c.r.countError(campbus.CmdMessage, errorCode(status, body))
	}
	return false
}

// checkout checks the camper out; the server then closes the connection.
func (c *camper) checkout(ctx context.Context) bool {
	if !c.in {
		return false
	}
	ctx, cancel := c.phaseCtx(ctx)
	defer cancel()
	status, body, err := do(ctx, c.t, campbus.CmdCheckout, nil)
	if !c.ok(campbus.CmdCheckout, status, body, err) {
		return false
	}
	select { // the server closes the connection after the response
	case <-c.t.ended():
	case <-ctx.Done():
		c.r.countError(campbus.CmdCheckout, "not-closed")
	}
	return true
}

// onEvent handles one event; it runs on the transport's reader.
func (c *camper) onEvent(ev *event) {
	switch ev.Type {
	case campbus.EventMessage:
		c.onMessage(ev)
	case campbus.EventJoin:
		if len(ev.Members) > c.r.cfg.GroupSize {
			c.rx.oversize++
		}
	}
}

func (c *camper) onMessage(ev *event) {
	now := time.Since(c.r.start)
	sentAt, from, num, ok := parseText(ev.Text)
	if !ok || from >= len(c.r.campers) {
		c.rx.foreign++
		return
	}
	rx := &c.rx
	if from == c.idx {
		rx.own++
	}
	g := c.group.Load()
	if g == nil || ev.Group != g.n {
		rx.misrouted++
	} else if g.maxCount > 0 && ev.Seq > g.maxCount {
		rx.overLimit++
	}
	if c.r.sequenced() {
		if ev.Seq <= rx.lastSeq {
			rx.outOfOrder++
		} else {
			rx.lastSeq = ev.Seq
		}
	} else {
		// No seq: every sender's messages must come in the order sent.
		if rx.lastNum == nil {
			rx.lastNum = map[int]int{}
		}
		if last, seen := rx.lastNum[from]; seen && num <= last {
			rx.outOfOrder++
		} else {
			rx.lastNum[from] = num
		}
	}
	c.r.delivery.record(now - sentAt)
	rx.sum += tag(ev.Seq, from, num)
	rx.lastAt.Store(int64(now))
	rx.count.Add(1)
	c.r.delivered.Add(1)
}

// group is a group as the bench formed it from the checkin responses.
type group struct {
	n        int
	members  []*camper // the bench's members, first to join first
	maxCount int       // 0: no limit (a baseline run)
	session  bool
}

// senders returns how many of the group's members send: n, or all of them
// when n is 0 or more than the group has.
func (g *group) senders(n int) int {
	if n <= 0 || n > len(g.members) {
		return len(g.members)
	}
	return n
}

// acceptedTotal counts the messages the group's session accepted.
func (g *group) acceptedTotal() int {
	n := 0
	for _, c := range g.members {
		c.mu.Lock()
		n += len(c.accepted)
		c.mu.Unlock()
	}
	return n
}

// expect sets what every member should receive: everything the group
// accepted from the others.
func (g *group) expect() {
	var all expectation
	own := make([]expectation, len(g.members))
	for i, c := range g.members {
		c.mu.Lock()
		for _, a := range c.accepted {
			t := tag(a.seq, c.idx, a.num)
			own[i].count++
			own[i].sum += t
		}
		c.mu.Unlock()
		all.count += own[i].count
		all.sum += own[i].sum
	}
	for i, c := range g.members {
		c.expected = expectation{count: all.count - own[i].count, sum: all.sum - own[i].sum}
	}
}
