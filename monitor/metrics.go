package monitor

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/campbus/campbus/tlsconf"
)

// Metrics are the node's Prometheus metrics. The session hub reports
// requests and deliveries to it (it is a session.Observer); gauges are read
// from the node when scraped.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	delivered *prometheus.CounterVec
	// tlsFailures counts failed handshakes by transport and reason.
	tlsFailures *prometheus.CounterVec
}

// NewMetrics makes the metrics, with Go and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campbus_requests_total",
			Help: "Requests answered, by transport (tcp, ws), command and response status.",
		}, []string{"transport", "command", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "campbus_request_duration_seconds",
			Help:    "Time from a request read to its response queued, by command.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"command"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campbus_events_delivered_total",
			Help: "Events queued for campers, by event type (one per receiving camper).",
		}, []string{"type"}),
		tlsFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campbus_tls_handshake_failures_total",
			Help: "TLS handshakes that failed on the campers' ports, by transport (tcp, web) and reason (" +
				strings.Join(reasonNames(), ", ") + ").",
		}, []string{"transport", "reason"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.delivered, m.tlsFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Request implements session.Observer.
func (m *Metrics) Request(transport, command string, status int, took time.Duration) {
	m.requests.WithLabelValues(transport, command, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(command).Observe(took.Seconds())
}

// Delivered implements session.Observer.
func (m *Metrics) Delivered(eventType string, n int) {
	if n > 0 {
		m.delivered.WithLabelValues(eventType).Add(float64(n))
	}
}

// HandshakeFailures returns the function that counts the failed TLS
// handshakes of transport by reason; until then each reason shows 0.
func (m *Metrics) HandshakeFailures(transport string) func(tlsconf.FailureReason) {
	for _, r := range tlsconf.FailureReasons {
		m.tlsFailures.WithLabelValues(transport, string(r))
	}
	return func(r tlsconf.FailureReason) { m.tlsFailures.WithLabelValues(transport, string(r)).Inc() }
}

func reasonNames() []string {
	names := make([]string, len(tlsconf.FailureReasons))
	for i, r := range tlsconf.FailureReasons {
		names[i] = string(r)
	}
	return names
}

// register adds the gauges read from the node.
func (m *Metrics) register(src Sources) {
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	gauge("campbus_electing", "Streams and buckets of the camp's state without a leader as this node sees it (the meta group counts as one): nonzero while the camp elects after losing a node.", func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return float64(len(src.electing(ctx)))
	})
	gauge("campbus_connections", "Camper connections open on this node, over every transport.", func() float64 { return float64(src.Conns()) })
	gauge("campbus_campers_checked_in", "Campers checked in, camp-wide.", func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := src.CheckedIn(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
	gauge("campbus_groups", "Groups with at least one member.", func() float64 { g, _ := src.Groups(); return float64(g) })
	gauge("campbus_sessions_active", "Groups running a peer session.", func() float64 { _, s := src.Groups(); return float64(s) })
	if src.Store != nil {
		gauge("campbus_store_bytes", "Bytes held by the event log's streams and buckets.", func() float64 { u, _, _ := src.Store(); return float64(u) })
		gauge("campbus_store_budget_bytes", "The event log's disk budget (--max-store).", func() float64 { _, b, _ := src.Store(); return float64(b) })
		gauge("campbus_store_full", "1 while the event log is full and writes get 507 storage-full.", func() float64 {
			if _, _, full := src.Store(); full {
				return 1
			}
			return 0
		})
	}
	if src.RouteConnectFailures != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "campbus_route_connect_failures_total",
			Help: "Failed attempts of this node to connect to another node's route (the log has one line when a route starts failing, one when it connects again).",
		}, func() float64 { return float64(src.RouteConnectFailures()) }))
	}
	m.reg.MustRegister(&dropsCollector{src.Drops})
}

// dropsCollector exposes the front-end's counters by reason.
type dropsCollector struct{ read func() map[string]uint64 }

var dropsDesc = prometheus.NewDesc("campbus_drops_total",
	"Connections refused or cut and requests refused by the front-end, by reason.", []string{"reason"}, nil)

func (d *dropsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- dropsDesc }

func (d *dropsCollector) Collect(ch chan<- prometheus.Metric) {
	for reason, n := range d.read() {
		ch <- prometheus.MustNewConstMetric(dropsDesc, prometheus.CounterValue, float64(n), reason)
	}
}
