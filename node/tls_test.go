package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/internal/camptest"
	"github.com/campbus/campbus/tcpfront"
)

// tlsNode starts a node whose campers' and web ports speak TLS with a
// certificate named "first" from ca, and returns it with the directory of
// its certificate files.
func tlsNode(t *testing.T, ca *camptest.CA, opts Options) (*Node, string) {
	t.Helper()
	dir := t.TempDir()
	opts.TLSCert, opts.TLSKey = ca.WriteKeyPair(t, dir, "first")
	opts.WebAddr = "127.0.0.1:0"
	return startNode(t, opts), dir
}

// dialTLS connects to addr over TLS, trusting ca, and returns the
// connection once its handshake is done.
func dialTLS(t *testing.T, addr string, ca *camptest.CA) *tls.Conn {
	t.Helper()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: waitFor}, Config: &tls.Config{RootCAs: ca.Pool()}}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	require.NoError(t, err)
	return conn.(*tls.Conn)
}

// served returns the name of the certificate a port serves now.
func served(t *testing.T, addr string, ca *camptest.CA) string {
	t.Helper()
	conn := dialTLS(t, addr, ca)
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// wss dials the node's WebSocket over TLS, trusting ca.
func wss(t *testing.T, n *Node, ca *camptest.CA) *browser {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	t.Cleanup(client.CloseIdleConnections)
	return dialWebURL(t, "wss://"+n.WebAddr().String()+"/ws", &websocket.DialOptions{HTTPClient: client})
}

// metricLine returns the line of the node's /metrics that starts with
// prefix, or "".
func metricLine(t *testing.T, n *Node, prefix string) string {
	t.Helper()
	_, body := get(t, "http://"+n.MonitorAddr().String()+"/metrics")
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

func TestCampersCheckInOverTLSAndOverWSS(t *testing.T) {
	ca := camptest.NewCA(t)
	n, _ := tlsNode(t, ca, Options{})
	assert.Equal(t, "https://"+n.WebAddr().String(), n.advert.Web, "a web front with TLS advertises https://")

	conn := dialTLS(t, n.Addr().String(), ca)
	assert.GreaterOrEqual(t, conn.ConnectionState().Version, uint16(tls.VersionTLS12))
	tcp := newCamper(t, conn)
	assert.Equal(t, 1, tcp.checkin("J001"))

	web := wss(t, n, ca)
	r := web.do(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J002"})
	require.Equal(t, 200, r.Status, "%s", r.Body)
	assert.JSONEq(t, fmt.Sprintf(`{"campId":"J002","group":1,"members":["J001","J002"],"offset":2,"epoch":%q}`, n.Epoch()), string(r.Body))
	assert.Equal(t, []string{"J001", "J002"}, tcp.expect(campbus.EventJoin).Members)

	tcp.ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J002", Text: "over TLS"}, nil)
	assert.Equal(t, "over TLS", web.event(campbus.EventDirect).Text)
	// A message over TLS is answered with nothing after it (the session
	// cannot peek under TLS to see whether more requests wait).
	tcp.ok(campbus.CmdPeerSession, campbus.PeerSessionRequest{MaxCount: 3}, nil)
	web.event(campbus.EventPeerSession)
	tcp.ok(campbus.CmdMessage, campbus.MessageRequest{Text: "a message over TLS"}, nil)
	assert.Equal(t, "a message over TLS", web.event(campbus.EventMessage).Text)

	// The page itself comes over HTTPS, from the same certificate, and
	// HTTP/1.1 only: the WebSocket takes over an HTTP/1.1 connection.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	defer client.CloseIdleConnections()
	status, page := getWith(t, client, "https://"+n.WebAddr().String()+"/")
	assert.Equal(t, 200, status)
	assert.Contains(t, page, "<html")
	conn, err := tls.Dial("tcp", n.WebAddr().String(), &tls.Config{RootCAs: ca.Pool(), NextProtos: []string{"h2", "http/1.1"}})
	require.NoError(t, err)
	defer conn.Close()
	assert.Equal(t, "http/1.1", conn.ConnectionState().NegotiatedProtocol)
}

func TestClientsThatFailTheHandshakeAreCountedClosedAndHarmNobody(t *testing.T) {
	ca := camptest.NewCA(t)
	n, _ := tlsNode(t, ca, Options{MonitorAddr: "127.0.0.1:0",
		Front: tcpfront.Options{HandshakeTimeout: 300 * time.Millisecond}})
	failures := func(transport, reason string) string {
		prefix := `campbus_tls_handshake_failures_total{reason="` + reason + `",transport="` + transport + `"} `
		return strings.TrimPrefix(metricLine(t, n, prefix), prefix)
	}
	for _, reason := range []string{"not-tls", "bad-certificate", "version", "timeout", "other"} {
		assert.Equal(t, "0", failures("tcp", reason), "every reason shows from the start")
	}
	camper := newCamper(t, dialTLS(t, n.Addr().String(), ca))
	camper.checkin("J001")

	// A client that says nothing holds a handshake open, on its own.
	silent, err := net.Dial("tcp", n.Addr().String())
	require.NoError(t, err)
	defer silent.Close()

	// A camper that forgot TLS is told so, in its own protocol, and closed.
	plain := dial(t, n)
	plain.send("POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"campId\":\"J002\"}")
	e := requireError(t, plain.response(), 400, campbus.CodeMalformed)
	assert.Contains(t, e.Message, "TLS")
	plain.closed()
	assert.Equal(t, "1", failures("tcp", "not-tls"))

	// A client that does not trust the certificate.
	distrust, err := tls.Dial("tcp", n.Addr().String(), &tls.Config{ServerName: "localhost"})
	if err == nil {
		distrust.Close()
	}
	require.Error(t, err)

	// Meanwhile the camper over TLS, and a newcomer, are served at once.
	camper.ok(campbus.CmdMission, map[string]int{"day": 4}, nil)
	newcomer := newCamper(t, dialTLS(t, n.Addr().String(), ca))
	newcomer.checkin("J003")
	assert.Equal(t, "J003", camper.expect(campbus.EventJoin).CampID)

	// The silent one is closed once its time is up.
	require.NoError(t, silent.SetReadDeadline(time.Now().Add(waitFor)))
	_, err = io.ReadAll(silent)
	require.NoError(t, err, "closed by the server, not by the test's deadline")
	require.Eventually(t, func() bool {
		return failures("tcp", "timeout") == "1" && failures("tcp", "bad-certificate") == "1"
	}, waitFor, 20*time.Millisecond, "timeout %s, bad-certificate %s", failures("tcp", "timeout"), failures("tcp", "bad-certificate"))

	// The web port counts its own: a browser that forgot https.
	status, _ := get(t, "http://"+n.WebAddr().String()+"/")
	assert.Equal(t, 400, status)
	require.Eventually(t, func() bool { return failures("web", "not-tls") == "1" },
		waitFor, 20*time.Millisecond, "web not-tls %s", failures("web", "not-tls"))
	assert.Equal(t, "0", failures("web", "timeout"))
}

func TestARotatedCertificateIsTheOneTheNextConnectionSees(t *testing.T) {
	ca := camptest.NewCA(t)
	n, dir := tlsNode(t, ca, Options{})
	addr, web := n.Addr().String(), n.WebAddr().String()
	assert.Equal(t, "first", served(t, addr, ca))
	camper := newCamper(t, dialTLS(t, addr, ca))
	camper.checkin("J001")

	ca.WriteKeyPair(t, dir, "second") // over the files the node was started with
	require.Eventually(t, func() bool { return served(t, addr, ca) == "second" },
		waitFor, 50*time.Millisecond, "the campers' port serves the renewed certificate")
	assert.Equal(t, "second", served(t, web, ca), "and so does the web port")
	camper.ok(campbus.CmdMission, map[string]int{"day": 4}, nil) // the camper connected before goes on
}

func TestAPageServedOverHTTPSChatsOverWSS(t *testing.T) {
	ca := camptest.NewCA(t)
	n, _ := tlsNode(t, ca, Options{})
	// The test's CA is no system's: the browser lets its certificate be. It
	// still refuses a ws:// socket from an https:// page (mixed content), so
	// a page that connects speaks wss://.
	browser := openBrowser(t, chromedp.Flag("ignore-certificate-errors", true))
	p := newPage(t, browser, n)
	p.checkin("J001")
	tcp := newCamper(t, dialTLS(t, n.Addr().String(), ca))
	tcp.checkin("J002")
	p.waitText("#members", "J002")
	tcp.ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J001", Text: "over wss"}, nil)
	p.waitText("#feed", "over wss")
}
