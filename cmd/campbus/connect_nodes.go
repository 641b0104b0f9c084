package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
)

// The nodes of a camp (PROTOCOL.md §11). connect is given one address or
// several (--addr a,b,c); the checkin response of a node in a cluster
// lists the camp's live nodes, which it learns too. When the connection
// drops, each attempt to come back goes to the next address: those it was
// given, then those it learned, round and round.

// campNode is one entry of a checkin response's "nodes".
type campNode struct {
	Name string `json:"name"`
	TCP  string `json:"tcp"`
	Web  string `json:"web,omitempty"`
}

// clusterFields are the §11 fields of a checkin or history response, or
// of an event. They are decoded apart from the campbus bodies, which a
// server of a single node answers without them.
type clusterFields struct {
	Epoch string     `json:"epoch,omitempty"`
	Nodes []campNode `json:"nodes,omitempty"`
}

func clusterFieldsOf(body []byte) clusterFields {
	var f clusterFields
	_ = json.Unmarshal(body, &f) // a body without them, or not JSON, has none
	return f
}

// splitAddrs reads --addr: one host:port or several, comma-separated.
func splitAddrs(flag string) ([]string, error) {
	var addrs []string
	for _, a := range strings.Split(flag, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("connect: --addr %q: %q is not host:port (several addresses are separated by commas)", flag, a)
		}
		if !contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("connect: --addr %q names no address", flag)
	}
	return addrs, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// addrBook is where the client may find the camp: the addresses it was
// given, then those the camp's nodes advertise that are not among them,
// and which of them it is connected to (or last tried).
type addrBook struct {
	given   []string
	learned []string
	names   map[string]string // address → node name, for those the camp named
	at      int               // index in all() of the current address
}

func newAddrBook(given []string, current string) *addrBook {
	b := &addrBook{given: given, names: map[string]string{}}
	b.moveTo(current)
	return b
}

func (b *addrBook) all() []string { return append(append([]string(nil), b.given...), b.learned...) }

func (b *addrBook) current() string { return b.all()[b.at] }

// moveTo makes addr the current address.
func (b *addrBook) moveTo(addr string) {
	for i, a := range b.all() {
		if a == addr {
			b.at = i
			return
		}
	}
}

// next moves to the address after the current one and returns it.
func (b *addrBook) next() string {
	b.at = (b.at + 1) % len(b.all())
	return b.current()
}

// learn takes the camp's live nodes from a checkin response: they replace
// those learned before, and the current address stays current.
func (b *addrBook) learn(nodes []campNode) {
	if len(nodes) == 0 {
		return
	}
	current := b.current()
	b.learned = b.learned[:0]
	for _, n := range nodes {
		if n.TCP == "" {
			continue
		}
		if n.Name != "" {
			b.names[n.TCP] = n.Name
		}
		if !contains(b.given, n.TCP) && !contains(b.learned, n.TCP) {
			b.learned = append(b.learned, n.TCP)
		}
	}
	if !contains(b.all(), current) { // cannot happen: current is given or learned before
		b.learned = append(b.learned, current)
	}
	b.moveTo(current)
}

// describe names a node for a person: "n2 (10.0.0.2:2022)", or the
// address alone when the camp gave it no name.
func (b *addrBook) describe(addr string) string {
	if name := b.names[addr]; name != "" {
		return name + " (" + addr + ")"
	}
	return addr
}

// learnFrom takes the nodes of a checkin response.
func (s *session) learnFrom(resp *client.Response) {
	if s.book != nil {
		s.book.learn(clusterFieldsOf(resp.Body).Nodes)
	}
}

// retryBudget bounds the time a request is sent again while the camp
// elects a leader; then its 503 is shown as any error is.
const retryBudget = 30 * time.Second

// electing reports whether resp is 503 unavailable: the camp is electing
// a leader and asks to be asked again.
func electing(resp *client.Response) bool {
	return resp.Err != nil && resp.Status == http.StatusServiceUnavailable && resp.Err.Code == campbus.CodeUnavailable
}

// retryAfter is how long to wait before asking again: the body's
// retryAfter, else the Retry-After field, else 1 s; at least 1 s.
func retryAfter(resp *client.Response) time.Duration {
	var d time.Duration
	if resp.Err != nil {
		d = time.Duration(resp.Err.RetryAfter) * time.Second
	}
	if d <= 0 {
		d = resp.RetryAfter
	}
	return max(d, time.Second)
}

// retryNote tells that a request is sent again; --json writes it as
// {"kind":"retry",...}.
type retryNote struct {
	Kind       string `json:"kind"` // "retry"
	Command    string `json:"command"`
	Status     int    `json:"status"`
	Code       string `json:"code"`
	RetryAfter int    `json:"retryAfter"` // seconds
	Attempt    int    `json:"attempt"`    // 1 for the first retry of this request
	Text       string `json:"text"`
}
