package bus

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// records returns the log's records as maps, in order.
func records(t *testing.T, log *bytes.Buffer) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(log.String()) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "log line %q", line)
		delete(rec, "time")
		recs = append(recs, rec)
	}
	return recs
}

func TestRepeatedRouteConnectFailuresAreLoggedOnceThenCounted(t *testing.T) {
	var log bytes.Buffer
	slogger := slog.New(slog.NewJSONHandler(&log, nil))
	routes := newRouteLog(slogger)
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	routes.now = func() time.Time { return now }
	l := &natsLogger{log: slogger, writeFailed: new(atomic.Bool), routes: routes}
	// As nats-server v2.15.2 writes them (route.go connectToRoute, and a
	// route connection's notice, prefixed with its remote address).
	const connErrFmt = "Error trying to connect to route (attempt %v): %v"
	refused := func(addr string) error {
		return &dialError{"dial tcp " + addr + ": connect: connection refused"}
	}

	for attempt := 1; attempt <= 24; attempt++ { // three connections to n2, a second apart
		l.Errorf(connErrFmt, attempt, refused("127.0.0.1:6223"))
		if attempt == 5 {
			l.Errorf(connErrFmt, 1, refused("127.0.0.1:6224"))
		}
	}
	l.Errorf("Error trying to connect to route (attempt %v): %v", 1, &dialError{`lookup for host "n4": no such host`})
	l.Errorf(connErrFmt, 2, &dialError{`lookup for host "n4": no such host`})
	l.Errorf("JetStream cluster stream %q has NO quorum", "GROUPS") // any other error is logged as it is
	l.Noticef("127.0.0.1:40112 - rid:9 - Route connection created") // a route that never failed
	l.Noticef("127.0.0.1:6223 - rid:12 - Route connection created")
	l.Noticef("127.0.0.1:6223 - rid:13 - Route connection created") // the spell is over already
	l.Errorf(connErrFmt, 1, refused("127.0.0.1:6223"))              // a new spell
	// A spell no connect ends (n4, named by host) is logged again a
	// minute on, once.
	now = now.Add(relogEvery)
	l.Errorf(connErrFmt, 3, &dialError{`lookup for host "n4": no such host`})
	l.Errorf(connErrFmt, 4, &dialError{`lookup for host "n4": no such host`})

	assert.Equal(t, uint64(24+1+2+1+2), routes.total(), "every failure counted")
	warn := func(route, err string) map[string]any {
		return map[string]any{"level": "WARN", "route": route, "err": err,
			"msg": "cannot connect to route; further failures are counted (campbus_route_connect_failures_total), not logged, until it connects"}
	}
	assert.Equal(t, []map[string]any{
		warn("127.0.0.1:6223", "dial tcp 127.0.0.1:6223: connect: connection refused"),
		warn("127.0.0.1:6224", "dial tcp 127.0.0.1:6224: connect: connection refused"),
		warn("n4", `lookup for host "n4": no such host`),
		{"level": "ERROR", "msg": `JetStream cluster stream "GROUPS" has NO quorum`},
		{"level": "INFO", "msg": "route connected again", "route": "127.0.0.1:6223", "failures": 24.0, "suppressed": 23.0},
		warn("127.0.0.1:6223", "dial tcp 127.0.0.1:6223: connect: connection refused"),
		{"level": "WARN", "msg": "still cannot connect to route", "route": "n4", "err": `lookup for host "n4": no such host`, "failures": 3.0},
	}, records(t, &log))
}

type dialError struct{ s string }

func (e *dialError) Error() string { return e.s }
