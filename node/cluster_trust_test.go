package node

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/internal/camptest"
)

// startOutsider starts a NATS server of its own that routes to route, with
// the cluster's name, the TLS configuration routeTLS (nil: none) and secret
// ("": none).
func startOutsider(t *testing.T, name, route string, routeTLS *tls.Config, secret string) *server.Server {
	t.Helper()
	u, err := url.Parse(route)
	require.NoError(t, err)
	opts := &server.Options{
		ServerName: name, Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		Cluster: server.ClusterOpts{Name: "campbus", Host: "127.0.0.1", Port: server.RANDOM_PORT, TLSConfig: routeTLS, TLSTimeout: 5},
		Routes:  []*url.URL{u},
	}
	if secret != "" {
		opts.Cluster.Username, opts.Cluster.Password = bus.ClusterUser, secret
		u.User = url.UserPassword(bus.ClusterUser, secret)
	}
	ns, err := server.NewServer(opts)
	require.NoError(t, err)
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	require.True(t, ns.ReadyForConnections(waitFor))
	return ns
}

// watch connects to a server and subscribes to every subject.
func watch(t *testing.T, o *server.Server) (*nats.Conn, *nats.Subscription) {
	t.Helper()
	nc, err := nats.Connect(o.ClientURL(), nats.NoEcho()) // it hears others, not itself
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	sub, err := nc.SubscribeSync(">")
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	return nc, sub
}

// routeTLS is the route configuration of a server whose certificate issuer
// signed, and which trusts the camp's CA.
func routeTLS(t *testing.T, issuer, camp *camptest.CA) *tls.Config {
	t.Helper()
	certPEM, keyPEM := issuer.Issue(t, "outsider")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair},
		RootCAs: camp.Pool(), ClientCAs: camp.Pool(), ClientAuth: tls.RequireAndVerifyClientCert}
}

func TestAClusterWithASecretAndMutualTLSServesItsCampersAndKeepsOutsidersOut(t *testing.T) {
	ca, dir := camptest.NewCA(t), t.TempDir()
	caFile := ca.WriteCA(t, dir)
	const secret = "a-secret-the-test-looks-for"
	var logs logBuffer
	ns := startCluster(t, 3, func(o *Options) {
		o.ClusterSecret = secret
		o.ClusterTLSCert, o.ClusterTLSKey = ca.WriteKeyPair(t, t.TempDir(), o.Name)
		o.ClusterTLSCA = caFile
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})

	// One group over the three nodes.
	host := dial(t, ns[0])
	host.checkin("J001")
	j2 := dial(t, ns[1])
	j2.checkin("J002")
	assert.Equal(t, "J002", host.expect(campbus.EventJoin).CampID)
	j3 := dial(t, ns[2])
	j3.checkin("J003")
	for _, c := range []*camper{host, j2} {
		assert.Equal(t, "J003", c.expect(campbus.EventJoin).CampID)
	}
	host.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 100}, nil)
	j2.expect(campbus.EventPeerSession)
	j3.expect(campbus.EventPeerSession)

	// A subscriber on n1 for what an outsider might publish.
	inside, err := ns[0].bus.Connect("inside")
	require.NoError(t, err)
	defer inside.Close()
	probes, err := inside.SubscribeSync("probe.>")
	require.NoError(t, err)
	require.NoError(t, inside.Flush())

	for i, tc := range []struct {
		name     string
		routeTLS *tls.Config
		secret   string
		refusal  string // what n1 logs when it turns the route away
	}{
		{"without a certificate", nil, "", "TLS route handshake error"},
		{"with a certificate of the camp's CA, without the secret", routeTLS(t, ca, ca), "", "authentication error"},
		{"with the secret and a certificate of another CA", routeTLS(t, camptest.NewCA(t), ca), secret, "TLS route handshake error"},
	} {
		t.Run("a server "+tc.name+" is refused, sees nothing and publishes nothing", func(t *testing.T) {
			before := logs.count(tc.refusal)
			o := startOutsider(t, fmt.Sprintf("outsider%d", i), ns[0].ClusterURL(), tc.routeTLS, tc.secret)
			require.Eventually(t, func() bool { return logs.count(tc.refusal) > before },
				waitFor, 20*time.Millisecond, "n1 logs %q", tc.refusal)
			lines := strings.Split(logs.text(), "\n")
			for k := len(lines) - 1; k >= 0; k-- {
				if strings.Contains(lines[k], tc.refusal) {
					t.Logf("refused: %s", lines[k])
					break
				}
			}
			nc, everything := watch(t, o)
			require.NoError(t, nc.Publish("group.1", []byte(`{"type":"message","group":1,"from":"J099","text":"fake"}`)))
			require.NoError(t, nc.Publish("probe.outsider", []byte("in?")))
			require.NoError(t, nc.Flush())

			host.ok(campbus.CmdMessage, map[string]string{"text": "while an outsider knocks"}, nil)
			for _, c := range []*camper{j2, j3} {
				assert.Equal(t, "while an outsider knocks", c.expect(campbus.EventMessage).Text)
			}
			// Nodes beat every 250 ms: in a second, an outsider let in
			// would have heard a dozen beats and the message.
			m, err := everything.NextMsg(time.Second)
			assert.ErrorIs(t, err, nats.ErrTimeout, "the outsider heard %v", m)
			m, err = probes.NextMsg(10 * time.Millisecond)
			assert.ErrorIs(t, err, nats.ErrTimeout, "the camp heard the outsider: %v", m)
			for _, c := range []*camper{host, j2, j3} {
				assert.Empty(t, c.events, "no event from the outsider")
			}
			assert.Zero(t, o.NumRoutes())
		})
	}

	t.Run("a server with the secret and a certificate of the camp's CA joins", func(t *testing.T) {
		// What the outsiders above were refused, so that their silence means something.
		member := startOutsider(t, "member", ns[0].ClusterURL(), routeTLS(t, ca, ca), secret)
		nc, everything := watch(t, member)
		heard := func(prefix string) {
			t.Helper()
			deadline := time.Now().Add(waitFor)
			for {
				m, err := everything.NextMsg(time.Until(deadline))
				require.NoError(t, err, "the member never heard %s", prefix)
				if strings.HasPrefix(m.Subject, prefix) {
					return
				}
			}
		}
		heard("node.n1.beat")
		host.ok(campbus.CmdMessage, map[string]string{"text": "to a member"}, nil)
		heard("group.1")
		for _, c := range []*camper{j2, j3} {
			c.expect(campbus.EventMessage)
		}
		require.NoError(t, nc.Publish("probe.member", []byte("in")))
		_, err := probes.NextMsg(waitFor)
		require.NoError(t, err, "the camp hears a member")
	})

	t.Run("a killed node's campers are released", func(t *testing.T) {
		began := time.Now()
		crash(t, ns[2])
		for _, c := range []*camper{host, j2} {
			took := awaitCheckout(t, c, "J003", began, 40*time.Second)
			t.Logf("J003 checked out %v after n3 was killed", took.Round(time.Millisecond))
		}
	})

	assert.Contains(t, logs.text(), "campbus serving")
	assert.NotContains(t, logs.text(), secret, "the secret is never logged")
	// Nor shown by NATS's monitoring endpoints (the node's --monitor-addr).
	ns1 := ns[0].bus.Server()
	varz, err := ns1.Varz(nil)
	require.NoError(t, err)
	routez, err := ns1.Routez(&server.RoutezOptions{Subscriptions: true})
	require.NoError(t, err)
	for name, v := range map[string]any{"varz": varz, "routez": routez} {
		shown, err := json.Marshal(v)
		require.NoError(t, err)
		assert.NotContains(t, string(shown), secret, name)
	}
}
