package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/webfront"
)

// browser is a WebSocket camper as a test sees it.
type browser struct {
	t         *testing.T
	ws        *websocket.Conn
	responses chan wsMessage
	events    chan wsMessage
	done      chan struct{}
	err       error
	next      int
}

type wsMessage struct {
	ID     json.RawMessage `json:"id"`
	Status int             `json:"status"`
	Event  string          `json:"event"`
	Body   json.RawMessage `json:"body"`
}

func webNode(t *testing.T, opts Options) *Node {
	t.Helper()
	opts.WebAddr = "127.0.0.1:0"
	return startNode(t, opts)
}

func dialWeb(t *testing.T, n *Node, header http.Header) *browser {
	t.Helper()
	return dialWebURL(t, "ws://"+n.WebAddr().String()+"/ws", &websocket.DialOptions{HTTPHeader: header})
}

// dialWebURL opens the WebSocket at url (ws:// or wss://).
func dialWebURL(t *testing.T, url string, opts *websocket.DialOptions) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, opts)
	require.NoError(t, err)
	b := &browser{t: t, ws: ws, responses: make(chan wsMessage, 256), events: make(chan wsMessage, 256), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				b.err = err
				return
			}
			var m wsMessage
			if err := json.Unmarshal(data, &m); err != nil {
				b.err = fmt.Errorf("not JSON: %q", data)
				return
			}
			if m.Event != "" {
				b.events <- m
			} else {
				b.responses <- m
			}
		}
	}()
	t.Cleanup(func() { _ = ws.CloseNow() })
	return b
}

func (b *browser) sendRaw(typ websocket.MessageType, data string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(b.t, b.ws.Write(ctx, typ, []byte(data)))
}

// do sends a request and returns its response.
func (b *browser) do(command string, body any) wsMessage {
	b.t.Helper()
	b.next++
	req := map[string]any{"id": fmt.Sprint(b.next), "command": command}
	if body != nil {
		req["body"] = body
	}
	data, _ := json.Marshal(req)
	b.sendRaw(websocket.MessageText, string(data))
	r := b.response()
	assert.JSONEq(b.t, fmt.Sprintf("%q", fmt.Sprint(b.next)), string(r.ID), "the id comes back")
	return r
}

func (b *browser) response() wsMessage {
	b.t.Helper()
	select {
	case r := <-b.responses:
		return r
	case <-time.After(waitFor):
		require.FailNow(b.t, "no response in time", "socket error: %v", b.err)
	}
	return wsMessage{}
}

func (b *browser) event(typ string) campbus.Event {
	b.t.Helper()
	select {
	case m := <-b.events:
		require.Equal(b.t, typ, m.Event, "event %s", m.Body)
		var ev campbus.Event
		require.NoError(b.t, json.Unmarshal(m.Body, &ev))
		return ev
	case <-time.After(waitFor):
		require.FailNow(b.t, "no event in time", "waiting for %s; socket error: %v", typ, b.err)
	}
	return campbus.Event{}
}

// closedWith waits until the server closes the socket and returns the code.
func (b *browser) closedWith() websocket.StatusCode {
	b.t.Helper()
	select {
	case <-b.done:
		return websocket.CloseStatus(b.err)
	case <-time.After(waitFor):
		require.FailNow(b.t, "the server did not close the socket")
	}
	return 0
}

func TestABrowserAndATCPCamperShareAGroup(t *testing.T) {
	n := webNode(t, Options{})
	web := dialWeb(t, n, nil)
	r := web.do(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001"})
	require.Equal(t, 200, r.Status, "%s", r.Body)
	assert.JSONEq(t, fmt.Sprintf(`{"campId":"J001","group":1,"members":["J001"],"offset":1,"epoch":%q}`, n.Epoch()), string(r.Body))

	tcp := dial(t, n)
	tcp.checkin("J002")
	assert.Equal(t, []string{"J001", "J002"}, web.event(campbus.EventJoin).Members)

	tcp.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 3}, nil)
	assert.Equal(t, "J002", web.event(campbus.EventPeerSession).Host)
	r = web.do(campbus.CmdMessage, map[string]string{"text": "안녕하세요 🚀"})
	require.Equal(t, 200, r.Status)
	assert.Equal(t, "안녕하세요 🚀", tcp.expect(campbus.EventMessage).Text)
	tcp.ok(campbus.CmdMessage, map[string]string{"text": "반갑습니다"}, nil)
	assert.Equal(t, "반갑습니다", web.event(campbus.EventMessage).Text)

	tcp.ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J001", Text: "psst"}, nil)
	assert.Equal(t, "psst", web.event(campbus.EventDirect).Text)
	r = web.do(campbus.CmdMission, map[string]int{"day": 4})
	assert.JSONEq(t, `{"day":4,"keywords":"Heap, Stack"}`, string(r.Body))

	r = web.do(campbus.CmdCheckout, nil)
	require.Equal(t, 200, r.Status)
	assert.Equal(t, websocket.StatusNormalClosure, web.closedWith())
	left := tcp.expect(campbus.EventCheckout)
	assert.Equal(t, "J001", left.CampID)
	assert.Equal(t, campbus.ReasonCheckout, left.Reason)
}

func TestABrowserGetsTheSameErrorsAsATCPCamper(t *testing.T) {
	n := webNode(t, Options{})
	b := dialWeb(t, n, nil)
	for _, tc := range []struct {
		command string
		body    any
		status  int
		code    string
	}{
		{"dance", nil, 404, campbus.CodeUnknownCommand},
		{campbus.CmdMission, map[string]int{"day": 4}, 403, campbus.CodeNotCheckedIn},
		{campbus.CmdCheckin, map[string]string{"campId": "X1"}, 400, campbus.CodeBadCampID},
		{campbus.CmdCheckin, map[string]string{"campId": "J999"}, 400, campbus.CodeBadCampID},
	} {
		r := b.do(tc.command, tc.body)
		assert.Equal(t, tc.status, r.Status, "%s: %s", tc.command, r.Body)
		var e campbus.Error
		require.NoError(t, json.Unmarshal(r.Body, &e))
		assert.Equal(t, tc.code, e.Code, tc.command)
		assert.NotEmpty(t, e.Message)
	}
	// A numeric id comes back as a number.
	b.sendRaw(websocket.MessageText, `{"id":7,"command":"dance"}`)
	assert.Equal(t, "7", string(b.response().ID))
	// The socket is still usable after every one of those.
	assert.Equal(t, 200, b.do(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001"}).Status)
	assert.Equal(t, 409, b.do(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001"}).Status)
	other := dialWeb(t, n, nil)
	r := other.do(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001"})
	assert.Equal(t, 409, r.Status)
	assert.Contains(t, string(r.Body), campbus.CodeCampIDInUse)
}

func TestBadMessagesCloseTheSocketWithTheirCode(t *testing.T) {
	n := webNode(t, Options{})
	t.Run("not a JSON object", func(t *testing.T) {
		b := dialWeb(t, n, nil)
		b.sendRaw(websocket.MessageText, `["mission"]`)
		r := b.response()
		assert.Equal(t, 400, r.Status)
		assert.Contains(t, string(r.Body), campbus.CodeMalformed)
		assert.Equal(t, websocket.StatusInvalidFramePayloadData, b.closedWith())
	})
	t.Run("no string command", func(t *testing.T) {
		b := dialWeb(t, n, nil)
		b.sendRaw(websocket.MessageText, `{"id":"1","command":4}`)
		assert.Equal(t, 400, b.response().Status)
		assert.Equal(t, websocket.StatusInvalidFramePayloadData, b.closedWith())
	})
	t.Run("binary", func(t *testing.T) {
		b := dialWeb(t, n, nil)
		b.sendRaw(websocket.MessageBinary, `{"command":"mission"}`)
		assert.Equal(t, websocket.StatusUnsupportedData, b.closedWith())
	})
	t.Run("over 4096 bytes", func(t *testing.T) {
		b := dialWeb(t, n, nil)
		b.sendRaw(websocket.MessageText, `{"command":"mission","body":{"x":"`+strings.Repeat("a", webfront.MaxMessageBytes)+`"}}`)
		assert.Equal(t, websocket.StatusMessageTooBig, b.closedWith())
	})
	t.Run("a body over the limit", func(t *testing.T) {
		b := dialWeb(t, n, nil)
		b.sendRaw(websocket.MessageText, `{"command":"mission","body":{"x":"`+strings.Repeat("a", 2000)+`"}}`)
		r := b.response()
		assert.Equal(t, 413, r.Status)
		assert.Equal(t, websocket.StatusMessageTooBig, b.closedWith())
	})
	// Counted once each; the library may close the socket before the
	// session counts it.
	require.Eventually(t, func() bool { return n.SessionStats().FrameErrors == 5 }, waitFor, 10*time.Millisecond,
		"frame errors counted: %d", n.SessionStats().FrameErrors)
}

func TestAnotherSitesPageCannotOpenASocket(t *testing.T) {
	n := webNode(t, Options{WebOrigins: []string{"https://camp.example"}})
	url := "http://" + n.WebAddr().String() + "/ws"
	upgrade := func(origin string) int {
		req, err := http.NewRequest("GET", url, nil)
		require.NoError(t, err)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, upgrade("https://evil.example"))
	assert.Equal(t, http.StatusSwitchingProtocols, upgrade("https://camp.example"))
	assert.Equal(t, http.StatusSwitchingProtocols, upgrade("http://"+n.WebAddr().String()))
	assert.Equal(t, http.StatusSwitchingProtocols, upgrade(""))
}

func TestThePageIsServed(t *testing.T) {
	n := webNode(t, Options{})
	resp, err := http.Get("http://" + n.WebAddr().String() + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
	assert.Contains(t, string(page), "app.js")
	js, err := http.Get("http://" + n.WebAddr().String() + "/app.js")
	require.NoError(t, err)
	js.Body.Close()
	assert.Equal(t, 200, js.StatusCode)
	assert.Contains(t, js.Header.Get("Content-Type"), "javascript")
}

func TestShutdownSaysGoodbyeToBrowsers(t *testing.T) {
	n := webNode(t, Options{})
	b := dialWeb(t, n, nil)
	require.Equal(t, 200, b.do(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001"}).Status)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
	assert.Equal(t, "server shutting down", b.event(campbus.EventShutdown).Reason)
	assert.Equal(t, websocket.StatusGoingAway, b.closedWith())
}

func TestASocketThatStopsAnsweringPingsIsCheckedOut(t *testing.T) {
	n := webNode(t, Options{Web: webfront.Options{PingInterval: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond}})
	tcp := dial(t, n)
	tcp.checkin("J001")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+n.WebAddr().String()+"/ws", nil)
	require.NoError(t, err)
	defer ws.CloseNow()
	require.NoError(t, ws.Write(ctx, websocket.MessageText, []byte(`{"id":"1","command":"checkin","body":{"campId":"J002"}}`)))
	_, resp, err := ws.Read(ctx)
	require.NoError(t, err)
	require.Contains(t, string(resp), `"status":200`)
	assert.Equal(t, "J002", tcp.expect(campbus.EventJoin).CampID)
	// The browser's tab froze: it reads nothing more, so it answers no ping.
	left := tcp.expect(campbus.EventCheckout)
	assert.Equal(t, "J002", left.CampID)
	assert.Equal(t, campbus.ReasonDisconnect, left.Reason)
}
