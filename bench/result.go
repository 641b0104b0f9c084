package bench

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what one run measured and verified. It is the JSON of
// `campbus bench --json`.
type Result struct {
	Config ConfigSummary `json:"config"`
	// Groups is how many groups the checked-in campers were seated in.
	Groups   int   `json:"groups"`
	Checkin  Phase `json:"checkin"`
	Sessions int   `json:"sessions"`
	Send     Send  `json:"send"`
	// Connect is a baseline run's connections (it has no checkin).
	Connect *Phase `json:"connect,omitempty"`
	// LimitProbes: groups that used their whole session and were sent one
	// message more, and how many of those the server refused.
	LimitProbes     LimitProbes    `json:"limitProbes"`
	Checkout        Phase          `json:"checkout"`
	Latency         Latency        `json:"deliveryLatency"` // send → delivery, at every receiver
	ResponseLatency Latency        `json:"responseLatency"` // send → response, at the sender
	Errors          map[string]int `json:"errors"`          // "command code" → count
	Footprint       *Footprint     `json:"footprint,omitempty"`
	Verify          Verify         `json:"verify"`
}

// ConfigSummary is the configuration of a run as reported.
type ConfigSummary struct {
	// Baseline is set for a run over plain NATS; Addr is then the
	// nats-server's URL.
	Baseline  string  `json:"baseline,omitempty"`
	Addr      string  `json:"addr"`
	Campers   int     `json:"campers"`
	Groups    int     `json:"groups"`
	GroupSize int     `json:"groupSize"`
	Messages  int     `json:"messagesPerSender"`
	Senders   int     `json:"sendersPerGroup"`
	InFlight  int     `json:"inFlight"`
	Size      int     `json:"textBytes"`
	Duration  string  `json:"duration,omitempty"`
	Rate      float64 `json:"rate,omitempty"`
	Transport string  `json:"transport"`
	CampIDs   string  `json:"campIds"`
}

func summarize(c Config) ConfigSummary {
	s := ConfigSummary{
		Addr: c.Addr, Campers: c.Groups * c.GroupSize, Groups: c.Groups, GroupSize: c.GroupSize,
		Messages: c.Messages, Senders: c.sendersPerGroup(), InFlight: c.InFlight, Size: c.Size, Rate: c.Rate,
		Transport: c.Transport, CampIDs: c.CampIDs.String(),
	}
	if c.Duration > 0 {
		s.Duration = c.Duration.String()
	}
	if c.Baseline != "" {
		s.Baseline, s.Addr, s.Transport, s.CampIDs = c.Baseline, c.NATSURL, "nats", ""
	}
	return s
}

// connected is how many campers a baseline run connected.
func (res *Result) connected() int {
	if res.Connect == nil {
		return 0
	}
	return res.Connect.Count
}

// Phase is a count of things done over a time.
type Phase struct {
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"perSec"`
	// ServerCPU is what the server spent over the checkin phase, when it
	// can be read; its PerAcceptedMicros is per checkin. BenchCPU is what
	// the bench's own process spent meanwhile (dialing, the checkins, the
	// events read), given when ServerCPU is.
	ServerCPU *ServerCPU `json:"serverCpu,omitempty"`
	BenchCPU  *ServerCPU `json:"benchCpu,omitempty"`
}

func newPhase(n int, d time.Duration) Phase {
	p := Phase{Count: n, Seconds: d.Seconds()}
	if p.Seconds > 0 {
		p.PerSec = float64(n) / p.Seconds
	}
	return p
}

// Send is what the send phase did.
type Send struct {
	Senders  int   `json:"senders"`
	Accepted int64 `json:"accepted"`
	// Seconds runs from the first send to the last response.
	Seconds        float64 `json:"seconds"`
	AcceptedPerSec float64 `json:"acceptedPerSec"`
	// Delivered counts message events received; DeliverySeconds runs from
	// the first send to the last delivery.
	Delivered       int64   `json:"delivered"`
	DeliverySeconds float64 `json:"deliverySeconds"`
	DeliveredPerSec float64 `json:"deliveredPerSec"`
	// ServerCPU is what the server spent meanwhile, when it can be read
	// (a server in another process, --server-pid).
	ServerCPU *ServerCPU `json:"serverCpu,omitempty"`

	began       time.Time
	sendSeconds float64
}

// finish fills in the totals once the drain is over.
func (s *Send) finish(r *run) {
	s.Accepted = r.accepted.Load()
	s.Seconds = s.sendSeconds
	if s.Seconds > 0 {
		s.AcceptedPerSec = float64(s.Accepted) / s.Seconds
	}
	var last time.Duration
	for _, c := range r.campers {
		s.Delivered += c.rx.count.Load()
		last = max(last, time.Duration(c.rx.lastAt.Load()))
	}
	if s.Delivered > 0 {
		s.DeliverySeconds = (last - s.began.Sub(r.start)).Seconds()
		if s.DeliverySeconds > 0 {
			s.DeliveredPerSec = float64(s.Delivered) / s.DeliverySeconds
		}
	}
}

// LimitProbes counts the messages sent past a full session.
type LimitProbes struct {
	Groups  int `json:"groups"`
	Refused int `json:"refused"`
}

// Verify is the verdict on what the server did.
type Verify struct {
	OK bool `json:"ok"`
	// Groups with a session whose deliveries were checked, and receivers in them.
	Groups    int   `json:"groups"`
	Receivers int   `json:"receivers"`
	Expected  int64 `json:"expected"`  // deliveries due: each accepted message × the other members
	Delivered int64 `json:"delivered"` // deliveries received
	Lost      int64 `json:"lost"`      // due and never received
	Extra     int64 `json:"extra"`     // received beyond what was due
	// Receivers whose messages, though as many as due, were not the ones due.
	Mismatched int `json:"mismatched"`
	OutOfOrder int `json:"outOfOrder"` // deliveries whose seq was not above the one before
	Own        int `json:"own"`        // a sender's own message delivered back to it
	OverLimit  int `json:"overLimit"`  // seq above maxCount
	Misrouted  int `json:"misrouted"`  // a message of another group
	Oversize   int `json:"oversize"`   // join events listing more members than the group size
	Foreign    int `json:"foreign"`    // messages not sent by this bench (not a fault)
	// Violations counts every broken rule; Problems says the first ones.
	Violations int      `json:"violations"`
	Problems   []string `json:"problems,omitempty"`
}

// verify checks the run once every connection has ended.
func (r *run) verify() Verify {
	var v Verify
	for _, g := range r.groups {
		if !g.session {
			continue
		}
		v.Groups++
		var seqs []int
		for _, c := range g.members {
			for _, a := range c.accepted {
				seqs = append(seqs, a.seq)
			}
		}
		if g.maxCount > 0 && len(seqs) > g.maxCount {
			r.violation("group#%d: %d messages accepted, over maxCount %d", g.n, len(seqs), g.maxCount)
		}
		slices.Sort(seqs)
		for i := 1; i < len(seqs) && r.sequenced(); i++ {
			if seqs[i] == seqs[i-1] {
				r.violation("group#%d: seq %d given to two messages", g.n, seqs[i])
			}
		}
		for _, c := range g.members {
			v.Receivers++
			rx := &c.rx
			got, want := rx.count.Load(), c.expected.count
			v.Expected += want
			v.Delivered += got
			switch {
			case got < want:
				v.Lost += want - got
				r.violation("%s in group#%d received %d of %d messages", c.id, g.n, got, want)
			case got > want:
				v.Extra += got - want
				r.violation("%s in group#%d received %d messages, %d more than were sent to it", c.id, g.n, got, got-want)
			case rx.sum != c.expected.sum:
				v.Mismatched++
				r.violation("%s in group#%d received %d messages, but not the ones sent", c.id, g.n, got)
			}
			if rx.outOfOrder > 0 {
				r.violation("%s in group#%d: %d messages out of order or twice", c.id, g.n, rx.outOfOrder)
			}
			if rx.own > 0 {
				r.violation("%s in group#%d: got %d of its own messages as events", c.id, g.n, rx.own)
			}
			if rx.overLimit > 0 {
				r.violation("%s in group#%d: %d messages with seq above maxCount %d", c.id, g.n, rx.overLimit, g.maxCount)
			}
			if rx.misrouted > 0 {
				r.violation("%s in group#%d: %d messages of another group", c.id, g.n, rx.misrouted)
			}
			v.OutOfOrder += rx.outOfOrder
			v.Own += rx.own
			v.OverLimit += rx.overLimit
			v.Misrouted += rx.misrouted
			v.Foreign += rx.foreign
		}
	}
	for _, c := range r.campers {
		if c.rx.oversize > 0 {
			v.Oversize += c.rx.oversize
			r.violation("%s: %d join events listed more than %d members", c.id, c.rx.oversize, r.cfg.GroupSize)
		}
	}
	r.mu.Lock()
	v.Violations = r.nViolation
	v.Problems = slices.Clone(r.violations)
	r.mu.Unlock()
	v.OK = v.Violations == 0
	return v
}

// WriteTable writes the summary for people.
func (res *Result) WriteTable(w io.Writer) error {
	c := res.Config
	var b strings.Builder
	if c.Baseline != "" {
		fmt.Fprintf(&b, "baseline %s (%s) against %s: %d campers in %d groups of %d, %d sending %d messages each, %d-byte payload, in-flight %d",
			c.Baseline, baselineWhat[c.Baseline], c.Addr, c.Campers, c.Groups, c.GroupSize, c.Senders, c.Messages, c.Size, c.InFlight)
	} else {
		fmt.Fprintf(&b, "campbus bench against %s: %d campers in %d groups of %d, %d sending %d messages each, %d-byte text, in-flight %d, transport %s",
			c.Addr, c.Campers, c.Groups, c.GroupSize, c.Senders, c.Messages, c.Size, c.InFlight, c.Transport)
	}
	if c.Rate > 0 {
		fmt.Fprintf(&b, ", rate %.0f/s", c.Rate)
	}
	if c.Duration != "" {
		fmt.Fprintf(&b, ", at most %s", c.Duration)
	}
	fmt.Fprintf(&b, "\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tcount\tseconds\tper second\t\n")
	row := func(name string, n int64, secs, rate float64) {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.0f\t\n", name, n, secs, rate)
	}
	if res.Connect != nil {
		row("connections", int64(res.Connect.Count), res.Connect.Seconds, res.Connect.PerSec)
	} else {
		row("checkins", int64(res.Checkin.Count), res.Checkin.Seconds, res.Checkin.PerSec)
	}
	row("messages accepted", res.Send.Accepted, res.Send.Seconds, res.Send.AcceptedPerSec)
	row("events delivered", res.Send.Delivered, res.Send.DeliverySeconds, res.Send.DeliveredPerSec)
	if res.Connect == nil {
		row("checkouts", int64(res.Checkout.Count), res.Checkout.Seconds, res.Checkout.PerSec)
	}
	fmt.Fprintf(tw, "\t\t\t\t\n")
	fmt.Fprintf(tw, "latency (ms)\tp50\tp90\tp99\tmax\tsamples\t\n")
	lat := func(name string, l Latency) {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t\n", name, l.P50, l.P90, l.P99, l.Max, l.Samples)
	}
	lat("send → delivery", res.Latency)
	lat("send → response", res.ResponseLatency)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nerrors: %s\n", formatErrors(res.Errors))
	if cpu := res.Send.ServerCPU; cpu != nil {
		fmt.Fprintf(&b, "server CPU (%s): %s\n", cpu.Scope, cpu.describe())
	}
	if cpu := res.Checkin.ServerCPU; cpu != nil {
		fmt.Fprintf(&b, "server CPU (%s) while checking in: %.2f s in %.2f s (%.2f cores): %.1f µs per checkin\n",
			cpu.Scope, cpu.Seconds, cpu.WallSeconds, cpu.Cores, cpu.PerAcceptedMicros)
		if self := res.Checkin.BenchCPU; self != nil {
			fmt.Fprintf(&b, "bench CPU (%s) while checking in: %.2f s (%.2f cores): %.1f µs per checkin\n",
				self.Scope, self.Seconds, self.Cores, self.PerAcceptedMicros)
		}
	}
	if fp := res.Footprint; fp != nil {
		fmt.Fprintf(&b, "server (%s): %s\n", fp.Scope, fp.describe())
	}
	v := res.Verify
	verdict := "OK"
	if !v.OK {
		verdict = fmt.Sprintf("FAILED (%d violations)", v.Violations)
	}
	fmt.Fprintf(&b, "verified: %s: %d of %d deliveries to %d receivers in %d groups; lost %d, extra %d, out of order %d, mismatched %d",
		verdict, v.Delivered, v.Expected, v.Receivers, v.Groups, v.Lost, v.Extra, v.OutOfOrder, v.Mismatched)
	if c.Baseline == "" {
		fmt.Fprintf(&b, "; every group within %d members; every session within its maxCount (%d of %d full sessions refused one more with limit-reached)",
			c.GroupSize, res.LimitProbes.Refused, res.LimitProbes.Groups)
	}
	b.WriteString("\n")
	for _, p := range v.Problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	if v.Violations > len(v.Problems) {
		fmt.Fprintf(&b, "  - … and %d more\n", v.Violations-len(v.Problems))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatErrors(errs map[string]int) string {
	if len(errs) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, errs[k])
	}
	return strings.Join(parts, ", ")
}
