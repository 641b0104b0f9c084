package node_test

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/internal/camptest"
	"github.com/campbus/campbus/node"
	"github.com/campbus/campbus/wire"
)

// startTLSBenchNode starts a bench node whose campers' port speaks TLS, and
// returns it with a client configuration that trusts it.
func startTLSBenchNode(b *testing.B) (*node.Node, *tls.Config) {
	ca := camptest.NewCA(b)
	cert, key := ca.WriteKeyPair(b, b.TempDir(), "bench")
	n := startBenchNode(b, func(o *node.Options) { o.TLSCert, o.TLSKey = cert, key })
	return n, &tls.Config{RootCAs: ca.Pool()}
}

// BenchmarkFirstAnswer is a camper's arrival: dial, the TLS handshake when
// the port speaks TLS, one request answered (403, not checked in), close.
// The difference between the two is what TLS costs a connection.
func BenchmarkFirstAnswer(b *testing.B) {
	request := wire.AppendRequest(nil, campbus.CmdMission, "", []byte(`{"day":4}`))
	arrive := func(b *testing.B, dial func() (net.Conn, error)) {
		b.ReportAllocs()
		for b.Loop() {
			conn, err := dial()
			if err != nil {
				b.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write(request); err != nil {
				b.Fatal(err)
			}
			if f, err := wire.NewReader(conn, wire.DefaultLimits).ReadFrame(); err != nil || f.Status != 403 {
				b.Fatalf("%v %v", f, err)
			}
			conn.Close()
		}
	}
	b.Run("plain", func(b *testing.B) {
		addr := startBenchNode(b).Addr().String()
		arrive(b, func() (net.Conn, error) { return net.Dial("tcp", addr) })
	})
	b.Run("tls", func(b *testing.B) {
		n, config := startTLSBenchNode(b)
		addr := n.Addr().String()
		arrive(b, func() (net.Conn, error) { return tls.Dial("tcp", addr, config) })
	})
}

// BenchmarkMissionRoundTripTLS is BenchmarkMissionRoundTrip over TLS: what
// TLS costs each request once connected.
func BenchmarkMissionRoundTripTLS(b *testing.B) {
	n, config := startTLSBenchNode(b)
	conn, err := tls.Dial("tcp", n.Addr().String(), config)
	if err != nil {
		b.Fatal(err)
	}
	missionRoundTrips(b, newBenchCamper(b, conn))
}
