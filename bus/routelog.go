package bus

import (
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"
)

// routeLog keeps a dead node from flooding the log. nats-server logs every
// failed attempt to connect to a route at error level, about once a second
// for each of its connections to that route (72 lines in 15 s with a
// cluster of three). routeLog logs the first failure of a spell once, at
// warn level, naming the route; the ones after it are only counted; and one
// line says when this server connects to the route again, with how many
// failures were not logged. A route whose connect it cannot pair with its
// failures (one the other side dialled, one named by host) would end no
// spell: a spell's failures are logged again, once, every relogEvery.
type routeLog struct {
	log *slog.Logger
	now func() time.Time
	// failures counts every failed attempt, logged or not.
	failures atomic.Uint64
	mu       sync.Mutex
	// failing holds the routes in a spell of failures: the failures not
	// logged, and when the spell was last logged.
	failing map[string]routeSpell
}

type routeSpell struct {
	failures, logged uint64 // of the spell; logged: those logged
	lastLogged       time.Time
}

// relogEvery is how often a spell of failures is logged again.
const relogEvery = time.Minute

func newRouteLog(log *slog.Logger) *routeLog {
	return &routeLog{log: log, now: time.Now, failing: map[string]routeSpell{}}
}

var (
	// nats-server v2.15.2 route.go connectToRoute; the cause is a dial's
	// error ("dial tcp 10.0.0.2:6222: connect: connection refused") or a
	// lookup's ("lookup for host \"n2\": ...").
	routeConnectFailed = regexp.MustCompile(`^Error trying to connect to route \(attempt \d+\): (.*)$`)
	dialedRoute        = regexp.MustCompile(`^dial tcp (\S+): `)
	lookedUpRoute      = regexp.MustCompile(`^lookup for host "([^"]*)"`)
	// A route connection's lines begin with its remote address; the one it
	// dialed is the address its failures named.
	routeCreated = regexp.MustCompile(`^(\S+) - rid:\d+ - Route connection created$`)
)

// connectFailed takes an error line of nats-server. It reports false when
// the line is not a failed connect to a route; else it counts it, and logs
// it when it begins a spell of failures of its route.
func (r *routeLog) connectFailed(msg string) bool {
	m := routeConnectFailed.FindStringSubmatch(msg)
	if m == nil {
		return false
	}
	cause, route := m[1], m[1]
	if a := dialedRoute.FindStringSubmatch(cause); a != nil {
		route = a[1]
	} else if a := lookedUpRoute.FindStringSubmatch(cause); a != nil {
		route = a[1]
	}
	r.failures.Add(1)
	now := r.now()
	r.mu.Lock()
	sp, spell := r.failing[route]
	again := spell && now.Sub(sp.lastLogged) >= relogEvery
	sp.failures++
	if !spell || again {
		sp.logged++
		sp.lastLogged = now
	}
	r.failing[route] = sp
	r.mu.Unlock()
	switch {
	case !spell:
		r.log.Warn("cannot connect to route; further failures are counted (campbus_route_connect_failures_total), not logged, until it connects",
			"route", route, "err", cause)
	case again:
		r.log.Warn("still cannot connect to route", "route", route, "err", cause, "failures", sp.failures)
	}
	return true
}

// noticed takes a notice line of nats-server, and logs the end of a spell
// of failures when it says that a failing route is connected.
func (r *routeLog) noticed(msg string) {
	m := routeCreated.FindStringSubmatch(msg)
	if m == nil {
		return
	}
	r.mu.Lock()
	sp, spell := r.failing[m[1]]
	delete(r.failing, m[1])
	r.mu.Unlock()
	if spell {
		r.log.Info("route connected again", "route", m[1], "failures", sp.failures, "suppressed", sp.failures-sp.logged)
	}
}

// total returns how many attempts to connect to a route have failed.
func (r *routeLog) total() uint64 { return r.failures.Load() }
