package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/internal/camptest"
	"github.com/campbus/campbus/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait in these tests: a hang fails, it never sleeps.
const testTimeout = 5 * time.Second

// fakeConn is the server's side of one connection, driven step by step by a test.
type fakeConn struct {
	t    *testing.T
	conn net.Conn
	r    *wire.Reader
}

// dialFake starts a listener on a random port, connects a Client to it and
// returns both ends. Both are closed when the test ends.
func dialFake(t *testing.T) (*client.Client, *fakeConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := client.Dial(ctx, ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	require.NoError(t, ln.(*net.TCPListener).SetDeadline(time.Now().Add(testTimeout)))
	conn, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return c, &fakeConn{t: t, conn: conn, r: wire.NewReader(conn, wire.DefaultLimits)}
}

// readRequest reads the next request the client sent.
func (s *fakeConn) readRequest() *wire.Frame {
	s.t.Helper()
	require.NoError(s.t, s.conn.SetReadDeadline(time.Now().Add(testTimeout)))
	f, err := s.r.ReadFrame()
	require.NoError(s.t, err, "fake server: reading a request")
	require.Equal(s.t, wire.MethodPost, f.Method, "fake server: request method")
	return f
}

func (s *fakeConn) write(frame []byte) {
	s.t.Helper()
	require.NoError(s.t, s.conn.SetWriteDeadline(time.Now().Add(testTimeout)))
	_, err := s.conn.Write(frame)
	require.NoError(s.t, err, "fake server: writing a frame")
}

// respond answers req, repeating its Request-Id.
func (s *fakeConn) respond(req *wire.Frame, status int, body string) {
	s.t.Helper()
	s.write(wire.AppendResponse(nil, status, req.Get(wire.FieldRequestID), []byte(body)))
}

func (s *fakeConn) event(typ, body string) {
	s.t.Helper()
	s.write(wire.AppendEvent(nil, typ, []byte(body)))
}

// doAsync runs Do in a goroutine; the returned channel yields its outcome.
type outcome struct {
	resp *client.Response
	err  error
}

func doAsync(c *client.Client, command string, body any) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		resp, err := c.Do(ctx, command, body)
		ch <- outcome{resp, err}
	}()
	return ch
}

func await(t *testing.T, ch <-chan outcome) outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(testTimeout):
		t.Fatal("Do did not return")
		return outcome{}
	}
}

func nextEvent(t *testing.T, c *client.Client) client.Event {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		require.True(t, ok, "Events closed, want an event")
		return ev
	case <-time.After(testTimeout):
		t.Fatal("no event arrived")
		return client.Event{}
	}
}

func waitDone(t *testing.T, c *client.Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(testTimeout):
		t.Fatal("client did not notice the end of the connection")
	}
}

func TestDoSendsCommandRequestIdAndJSONBody(t *testing.T) {
	c, srv := dialFake(t)

	pending := doAsync(c, campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J004"})
	req := srv.readRequest()
	assert.Equal(t, "/checkin", req.Target)
	assert.NotEmpty(t, req.Get(wire.FieldRequestID), "every request carries a Request-Id")
	assert.Equal(t, wire.ContentTypeJSON, req.Get(wire.FieldContentType))
	assert.JSONEq(t, `{"campId":"J004"}`, string(req.Body))
	srv.respond(req, http.StatusOK, `{"campId":"J004","group":1,"members":["J004"]}`)

	o := await(t, pending)
	require.NoError(t, o.err)
	require.Equal(t, http.StatusOK, o.resp.Status)
	require.Nil(t, o.resp.Err)
	var got campbus.CheckinResponse
	require.NoError(t, o.resp.Decode(&got))
	assert.Equal(t, campbus.CheckinResponse{CampID: "J004", Group: 1, Members: []string{"J004"}}, got)

	pending = doAsync(c, campbus.CmdCheckout, nil)
	req = srv.readRequest()
	assert.Equal(t, "/checkout", req.Target)
	assert.Empty(t, req.Body, "a nil body sends no body")
	srv.respond(req, http.StatusOK, `{"campId":"J004","group":1,"activeMs":5}`)
	require.NoError(t, await(t, pending).err)
}

func TestDoPipelinesConcurrentRequestsAndMatchesResponsesInOrder(t *testing.T) {
	c, srv := dialFake(t)
	const n = 20

	results := make([]<-chan outcome, n)
	for i := range results {
		results[i] = doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: i + 1})
	}
	// All requests reach the server before it answers any: they are pipelined.
	reqs := make([]*wire.Frame, n)
	ids := map[string]bool{}
	for i := range reqs {
		reqs[i] = srv.readRequest()
		id := reqs[i].Get(wire.FieldRequestID)
		assert.False(t, ids[id], "Request-Id %q used twice", id)
		ids[id] = true
	}
	// Answer in arrival order, each response naming the day it answers.
	for _, req := range reqs {
		var body campbus.MissionRequest
		require.NoError(t, json.Unmarshal(req.Body, &body))
		srv.respond(req, http.StatusOK, fmt.Sprintf(`{"day":%d,"keywords":"k%d"}`, body.Day, body.Day))
	}
	var days []int
	for i, ch := range results {
		o := await(t, ch)
		require.NoError(t, o.err)
		var got campbus.MissionResponse
		require.NoError(t, o.resp.Decode(&got))
		assert.Equal(t, i+1, got.Day, "Do for day %d got the response for day %d", i+1, got.Day)
		assert.Equal(t, fmt.Sprintf("k%d", i+1), got.Keywords)
		days = append(days, got.Day)
	}
	assert.True(t, sort.IntsAreSorted(days))
}

func TestEventsBetweenResponsesGoToTheEventsChannel(t *testing.T) {
	c, srv := dialFake(t)

	first := doAsync(c, campbus.CmdPeerSession, campbus.PeerSessionRequest{MaxCount: 2})
	req1 := srv.readRequest()
	second := doAsync(c, campbus.CmdMessage, campbus.MessageRequest{Text: "안녕하세요"})
	req2 := srv.readRequest()

	srv.event(campbus.EventJoin, `{"group":1,"campId":"J005","members":["J004","J005"]}`)
	srv.respond(req1, http.StatusOK, `{"group":1,"host":"J004","maxCount":2}`)
	srv.event(campbus.EventMessage, `{"group":1,"from":"J005","text":"반갑습니다","seq":1,"remaining":1}`)
	srv.respond(req2, http.StatusOK, `{"group":1,"seq":2,"remaining":0,"delivered":1}`)
	srv.event(campbus.EventDirect, `{"from":"J006","text":"hello"}`)

	o1, o2 := await(t, first), await(t, second)
	require.NoError(t, o1.err)
	require.NoError(t, o2.err)
	assert.JSONEq(t, `{"group":1,"host":"J004","maxCount":2}`, string(o1.resp.Body))
	assert.JSONEq(t, `{"group":1,"seq":2,"remaining":0,"delivered":1}`, string(o2.resp.Body))

	join := nextEvent(t, c)
	assert.Equal(t, campbus.EventJoin, join.Type, "Type comes from the EVENT path")
	assert.Equal(t, "J005", join.CampID)
	assert.Equal(t, []string{"J004", "J005"}, join.Members)

	msg := nextEvent(t, c)
	assert.Equal(t, campbus.EventMessage, msg.Type)
	assert.Equal(t, "J005", msg.From)
	assert.Equal(t, "반갑습니다", msg.Text)
	require.NotNil(t, msg.Remaining)
	assert.Equal(t, 1, *msg.Remaining)
	assert.JSONEq(t, `{"group":1,"from":"J005","text":"반갑습니다","seq":1,"remaining":1}`, string(msg.Raw))

	direct := nextEvent(t, c)
	assert.Equal(t, campbus.EventDirect, direct.Type)
	assert.Equal(t, "hello", direct.Text)
}

func TestErrorResponseIsDecodedIntoErr(t *testing.T) {
	c, srv := dialFake(t)

	pending := doAsync(c, campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J999"})
	srv.respond(srv.readRequest(), http.StatusBadRequest,
		`{"error":"camp id J999 is out of range: camp ids run from J001-J384","code":"bad-camp-id"}`)

	o := await(t, pending)
	require.NoError(t, o.err, "an error response is not a transport error")
	require.NotNil(t, o.resp.Err)
	assert.Equal(t, http.StatusBadRequest, o.resp.Err.Status)
	assert.Equal(t, campbus.CodeBadCampID, o.resp.Err.Code)
	assert.Equal(t, "camp id J999 is out of range: camp ids run from J001-J384", o.resp.Err.Message)

	var v campbus.CheckinResponse
	err := o.resp.Decode(&v)
	var protoErr *campbus.Error
	require.ErrorAs(t, err, &protoErr, "Decode of an error response returns the server's error")
	assert.Equal(t, campbus.CodeBadCampID, protoErr.Code)

	t.Run("a body that is not JSON falls back to the reason phrase", func(t *testing.T) {
		pending := doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: 5})
		srv.respond(srv.readRequest(), http.StatusNotFound, `oops`)
		o := await(t, pending)
		require.NoError(t, o.err)
		require.NotNil(t, o.resp.Err)
		assert.Equal(t, http.StatusNotFound, o.resp.Err.Status)
		assert.Equal(t, "Not Found", o.resp.Err.Message)
	})
}

func TestConnectionLossFailsPendingCallsAndClosesEvents(t *testing.T) {
	c, srv := dialFake(t)

	first := doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: 1})
	srv.readRequest()
	second := doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: 2})
	srv.readRequest()
	srv.event(campbus.EventShutdown, `{"reason":"server shutting down"}`)
	require.NoError(t, srv.conn.Close())

	for _, ch := range []<-chan outcome{first, second} {
		o := await(t, ch)
		require.Error(t, o.err)
		assert.ErrorIs(t, o.err, io.EOF, "the error says the server closed the connection")
		assert.Nil(t, o.resp)
	}
	waitDone(t, c)
	assert.ErrorIs(t, c.Err(), io.EOF)

	ev := nextEvent(t, c)
	assert.Equal(t, campbus.EventShutdown, ev.Type, "events read before the loss are still delivered")
	_, open := <-c.Events()
	assert.False(t, open, "Events is closed after the connection ends")

	_, err := c.Do(context.Background(), campbus.CmdMission, campbus.MissionRequest{Day: 3})
	assert.ErrorIs(t, err, io.EOF, "Do after the end fails at once with the cause")
}

func TestRequestIdMismatchEndsTheConnection(t *testing.T) {
	c, srv := dialFake(t)

	pending := doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: 4})
	req := srv.readRequest()
	srv.write(wire.AppendResponse(nil, http.StatusOK, req.Get(wire.FieldRequestID)+"-not", []byte(`{"day":4}`)))

	o := await(t, pending)
	require.ErrorIs(t, o.err, client.ErrProtocol)
	assert.Contains(t, o.err.Error(), "Request-Id")
	waitDone(t, c)
	assert.ErrorIs(t, c.Err(), client.ErrProtocol)
}

func TestResponseWithoutRequestIdIsAcceptedForTheOldestRequest(t *testing.T) {
	c, srv := dialFake(t)

	pending := doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: 4})
	srv.readRequest()
	srv.write(wire.AppendResponse(nil, http.StatusOK, "", []byte(`{"day":4,"keywords":"Heap, Stack"}`)))

	o := await(t, pending)
	require.NoError(t, o.err)
	assert.Equal(t, http.StatusOK, o.resp.Status)
}

func TestUnsolicitedErrorResponseBecomesTheCause(t *testing.T) {
	c, srv := dialFake(t)

	srv.write(wire.AppendResponse(nil, http.StatusServiceUnavailable, "",
		[]byte(`{"error":"the server holds its maximum of 1000 connections","code":"too-many-connections"}`)))
	require.NoError(t, srv.conn.Close())

	waitDone(t, c)
	var protoErr *campbus.Error
	require.ErrorAs(t, c.Err(), &protoErr)
	assert.Equal(t, campbus.CodeTooManyConnections, protoErr.Code)
	assert.Equal(t, http.StatusServiceUnavailable, protoErr.Status)
}

func TestRequestFrameFromTheServerIsAProtocolViolation(t *testing.T) {
	c, srv := dialFake(t)
	srv.write(wire.AppendRequest(nil, "checkin", "", nil))
	waitDone(t, c)
	assert.ErrorIs(t, c.Err(), client.ErrProtocol)
}

func TestCloseFailsPendingCallsWithErrClosed(t *testing.T) {
	c, srv := dialFake(t)

	pending := doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: 4})
	srv.readRequest()
	require.NoError(t, c.Close())

	o := await(t, pending)
	assert.ErrorIs(t, o.err, client.ErrClosed)
	assert.ErrorIs(t, c.Err(), client.ErrClosed)
	require.NoError(t, c.Close(), "a second Close is harmless")

	_, err := c.Do(context.Background(), campbus.CmdMission, nil)
	assert.ErrorIs(t, err, client.ErrClosed)
}

func TestCancelledDoDiscardsItsResponseAndKeepsTheOrder(t *testing.T) {
	c, srv := dialFake(t)

	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, campbus.CmdMission, campbus.MissionRequest{Day: 1})
		cancelled <- err
	}()
	req1 := srv.readRequest()
	cancel()
	select {
	case err := <-cancelled:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(testTimeout):
		t.Fatal("Do did not return after its context was cancelled")
	}

	next := doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: 2})
	req2 := srv.readRequest()
	srv.respond(req1, http.StatusOK, `{"day":1,"keywords":"IDE, node"}`)
	srv.respond(req2, http.StatusOK, `{"day":2,"keywords":"Linux, Shell"}`)

	o := await(t, next)
	require.NoError(t, o.err)
	assert.JSONEq(t, `{"day":2,"keywords":"Linux, Shell"}`, string(o.resp.Body),
		"the response of the cancelled call is not handed to the next one")
}

func TestCloseReturnsWhileTheReaderWaitsOnAFullEventsChannel(t *testing.T) {
	c, srv := dialFake(t)

	var frames []byte
	for i := 0; i < client.EventBuffer+10; i++ {
		frames = wire.AppendEvent(frames, campbus.EventDirect, []byte(fmt.Sprintf(`{"from":"J005","text":"n%d"}`, i)))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = srv.conn.Write(frames) // fails once the client closes; that is expected
	}()
	// The first event is the first one sent; nobody reads the rest, so the
	// buffer fills and the reader waits.
	assert.Equal(t, "n0", nextEvent(t, c).Text)
	require.Eventually(t, func() bool { return len(c.Events()) == client.EventBuffer },
		testTimeout, time.Millisecond, "the Events buffer fills up")

	closed := make(chan struct{})
	go func() {
		_ = c.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(testTimeout):
		t.Fatal("Close hung while the reader waited on a full Events channel")
	}
	require.NoError(t, srv.conn.Close())
	wg.Wait()
}

func TestDoWithAnUnencodableBodyFailsWithoutSending(t *testing.T) {
	c, _ := dialFake(t)
	_, err := c.Do(context.Background(), campbus.CmdMessage, map[string]any{"text": func() {}})
	require.Error(t, err)
	assert.Nil(t, c.Err(), "the connection stays up")
}

func TestDoWithAnEndedContextSendsNothingAndKeepsTheConnection(t *testing.T) {
	c, srv := dialFake(t)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Do(ctx, campbus.CmdMission, campbus.MissionRequest{Day: 1})
	require.ErrorIs(t, err, context.Canceled)

	pending := doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: 2})
	req := srv.readRequest()
	assert.JSONEq(t, `{"day":2}`, string(req.Body), "the cancelled request never reached the server")
	srv.respond(req, http.StatusOK, `{"day":2,"keywords":"Linux, Shell"}`)
	require.NoError(t, await(t, pending).err)
	assert.Nil(t, c.Err())
}

func TestDialWithTLSChecksTheServersCertificateAndName(t *testing.T) {
	ca := camptest.NewCA(t)
	certPEM, keyPEM := ca.Issue(t, "server")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	require.NoError(t, err)
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			// One request answered, as a campbus server would; a client that
			// refused the handshake makes the read fail.
			f, err := wire.NewReader(conn, wire.DefaultLimits).ReadFrame()
			if err == nil {
				_, _ = conn.Write(wire.AppendResponse(nil, 200, f.Get(wire.FieldRequestID), []byte(`{"day":4,"keywords":"Heap, Stack"}`)))
			}
			conn.Close()
		}
	}()
	defer func() { ln.Close(); <-served }()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	dial := func(addr string, config *tls.Config) (*client.Client, error) {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		return client.Dial(ctx, addr, client.WithTLS(config))
	}

	t.Run("a certificate of a trusted CA for the name dialled is accepted", func(t *testing.T) {
		for _, host := range []string{"localhost", "127.0.0.1"} {
			c, err := dial(net.JoinHostPort(host, port), &tls.Config{RootCAs: ca.Pool()})
			require.NoError(t, err, host)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			resp, err := c.Do(ctx, campbus.CmdMission, map[string]int{"day": 4})
			cancel()
			require.NoError(t, err)
			assert.Equal(t, 200, resp.Status)
			require.NoError(t, c.Close())
		}
	})
	t.Run("a certificate of an unknown CA is refused", func(t *testing.T) {
		_, err := dial(ln.Addr().String(), &tls.Config{})
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &unknown)
	})
	t.Run("a certificate for another name is refused", func(t *testing.T) {
		_, err := dial(ln.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "camp.example"})
		var wrongName x509.HostnameError
		assert.ErrorAs(t, err, &wrongName)
	})
}

func TestRetryAfterIsReadFromTheResponse(t *testing.T) {
	c, srv := dialFake(t)

	pending := doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: 4})
	req := srv.readRequest()
	body := `{"error":"the camp is electing a new leader for its log after losing a node; try again in 2 s","code":"unavailable","retryAfter":2}`
	srv.write([]byte(fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nRequest-Id: %s\r\nRetry-After: 2\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		req.Get(wire.FieldRequestID), len(body), body)))
	o := await(t, pending)
	require.NoError(t, o.err)
	assert.Equal(t, 2*time.Second, o.resp.RetryAfter)
	assert.Equal(t, "unavailable", o.resp.Err.Code)

	pending = doAsync(c, campbus.CmdMission, campbus.MissionRequest{Day: 4})
	srv.respond(srv.readRequest(), http.StatusOK, `{"day":4,"keywords":"Heap, Stack"}`)
	assert.Zero(t, await(t, pending).resp.RetryAfter, "none without the field")
}
