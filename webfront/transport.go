package webfront

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/session"
)

// transport is one camper's WebSocket: one JSON object per text message
// (PROTOCOL.md §8).
type transport struct {
	ws      *websocket.Conn
	remote  string
	maxBody int

	// reads come from the reading goroutine, one message at a time.
	reads chan read
	// woken is closed by Wake, done by Close.
	woken, done chan struct{}
	wakeOnce    sync.Once
	closeOnce   sync.Once
	// code overrides the close code of the session's reason (1003 for a
	// binary message). Set by Next before it returns the error.
	mu   sync.Mutex
	code websocket.StatusCode
	// closing is waited for by the server: the close handshake runs in a
	// goroutine of its own, so that no session lock waits on the peer.
	closing *sync.WaitGroup
}

type read struct {
	typ  websocket.MessageType
	data []byte
	err  error
}

func newTransport(ws *websocket.Conn, r *http.Request, maxBody int, closing *sync.WaitGroup) *transport {
	t := &transport{
		ws:      ws,
		remote:  r.RemoteAddr,
		maxBody: maxBody,
		reads:   make(chan read),
		woken:   make(chan struct{}),
		done:    make(chan struct{}),
		closing: closing,
	}
	return t
}

// readLoop reads messages until the socket fails or closes; each waits
// for Next to take it, so a camper cannot make the server read ahead.
func (t *transport) readLoop() {
	for {
		typ, data, err := t.ws.Read(context.Background())
		select {
		case t.reads <- read{typ, data, err}:
		case <-t.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// wsRequest is a request message.
type wsRequest struct {
	ID      json.RawMessage `json:"id"`
	Command *string         `json:"command"`
	Body    json.RawMessage `json:"body"`
}

// Next waits for the next message until idle.
func (t *transport) Next(idle time.Time) (*session.Request, error) {
	var timeout <-chan time.Time
	if !idle.IsZero() {
		timer := time.NewTimer(time.Until(idle))
		defer timer.Stop()
		timeout = timer.C
	}
	var r read
	select {
	case r = <-t.reads:
	case <-t.woken:
		return nil, session.ErrWoken
	case <-t.done:
		return nil, net.ErrClosed
	case <-timeout:
		return nil, session.ErrIdle
	}
	if r.err != nil {
		// Past the read limit the library sends close 1009 itself and
		// returns a plain error that says so.
		if strings.Contains(r.err.Error(), "read limited at") {
			t.setCode(websocket.StatusMessageTooBig)
			return nil, campbus.FatalErrorf(http.StatusRequestEntityTooLarge, campbus.CodeTooLarge,
				"a message is at most %d bytes", MaxMessageBytes)
		}
		return nil, r.err
	}
	if r.typ != websocket.MessageText {
		t.setCode(websocket.StatusUnsupportedData)
		return nil, campbus.FatalErrorf(http.StatusBadRequest, campbus.CodeMalformed, "send text messages, each one JSON object")
	}
	var req wsRequest
	if err := json.Unmarshal(r.data, &req); err != nil || req.Command == nil || bytes.TrimSpace(r.data)[0] != '{' {
		return nil, campbus.FatalErrorf(http.StatusBadRequest, campbus.CodeMalformed,
			`each message must be a JSON object with a string "command", e.g. {"id":"1","command":"mission","body":{"day":4}}`)
	}
	if len(req.Body) > t.maxBody {
		return nil, campbus.FatalErrorf(http.StatusRequestEntityTooLarge, campbus.CodeTooLarge,
			"a request body is at most %d bytes", t.maxBody)
	}
	id := ""
	if len(req.ID) > 0 && !bytes.Equal(req.ID, []byte("null")) {
		id = string(req.ID)
	}
	return &session.Request{Command: *req.Command, ID: id, Body: req.Body}, nil
}

func (t *transport) setCode(c websocket.StatusCode) {
	t.mu.Lock()
	t.code = c
	t.mu.Unlock()
}

// Write sends each frame as one text message.
func (t *transport) Write(frames [][]byte, timeout time.Duration) error {
	for _, f := range frames {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := t.ws.Write(ctx, websocket.MessageText, f)
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return timeoutError{err}
			}
			return err
		}
	}
	return nil
}

type timeoutError struct{ error }

func (timeoutError) Timeout() bool { return true }

// Wake ends a Next in progress without touching the socket: what is queued
// (a shutdown event) is still written.
func (t *transport) Wake() { t.wakeOnce.Do(func() { close(t.woken) }) }

// closeCodes tell the browser why the socket closes.
var closeCodes = map[session.CloseReason]websocket.StatusCode{
	session.CloseNormal:    websocket.StatusNormalClosure,
	session.CloseGoingAway: websocket.StatusGoingAway,
	session.CloseBadFrame:  websocket.StatusInvalidFramePayloadData,
	session.CloseTooLarge:  websocket.StatusMessageTooBig,
	session.CloseTooSlow:   websocket.StatusPolicyViolation,
	session.ClosePolicy:    websocket.StatusPolicyViolation,
	session.CloseInternal:  websocket.StatusInternalError,
}

// Close starts the close handshake and returns at once.
func (t *transport) Close(why session.CloseReason) error {
	t.closeOnce.Do(func() {
		close(t.done)
		t.mu.Lock()
		code := t.code
		t.mu.Unlock()
		if code == 0 {
			code = closeCodes[why]
		}
		t.closing.Add(1)
		go func() {
			defer t.closing.Done()
			// The handshake waits for the peer's close frame, at most 5 s.
			_ = t.ws.Close(code, "")
		}()
	})
	return nil
}

// codec encodes §8's messages.
type codec struct{}

func (codec) Response(status int, reqID string, body []byte) []byte {
	b := make([]byte, 0, len(body)+40)
	b = append(b, '{')
	if reqID != "" {
		b = append(b, `"id":`...)
		b = append(b, reqID...)
		b = append(b, ',')
	}
	b = append(b, `"status":`...)
	b = appendInt(b, status)
	b = append(b, `,"body":`...)
	b = append(b, body...)
	return append(b, '}')
}

func (codec) Event(typ string, body []byte) []byte {
	b := make([]byte, 0, len(body)+len(typ)+20)
	b = append(b, `{"event":"`...)
	b = append(b, typ...) // a plain word: the hub checked it
	b = append(b, `","body":`...)
	b = append(b, body...)
	return append(b, '}')
}

func appendInt(b []byte, n int) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

func (t *transport) Codec() session.Codec { return codec{} }
func (t *transport) Name() string         { return "ws" }
func (t *transport) RemoteAddr() string   { return t.remote }
