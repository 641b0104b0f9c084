// Package client is a Go client of the campbus wire protocol (PROTOCOL.md):
// one TCP connection carrying pipelined requests, their responses in order,
// and events pushed by the server at any moment between frames.
//
// A Client runs one reader goroutine. It reads every frame, hands each
// response to the Do call waiting for it (first in, first out, checked by
// Request-Id) and puts each event on the Events channel. That channel is
// bounded (EventBuffer events); when it is full the reader stops reading until
// the consumer catches up, so the kernel's socket buffers fill and TCP pushes
// back on the server. While the reader is stopped, responses wait as well:
// whoever uses Do must also drain Events.
package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/wire"
)

// Limits of what the client accepts from the server.
const (
	// MaxResponseBodyBytes bounds the body of one response or event. It is far
	// above the server's request limit because a history response carries up
	// to 1000 events.
	MaxResponseBodyBytes = 4 << 20
	// MaxResponseHeaderBytes bounds a frame's start line and fields.
	MaxResponseHeaderBytes = wire.DefaultMaxHeaderBytes
	// EventBuffer is how many events wait on the Events channel before the
	// reader stops reading from the connection.
	EventBuffer = 256
)

// ErrClosed is the cause reported by Err, and wrapped by the errors of
// pending and later Do calls, after Close.
var ErrClosed = errors.New("campbus client: connection closed")

// ErrProtocol is wrapped by the cause of a connection ended because the
// server broke the protocol: a response nobody asked for, a Request-Id that
// does not match, a frame that is neither a response nor an event.
var ErrProtocol = errors.New("campbus client: protocol violation")

// Response is the server's answer to one request.
type Response struct {
	// Status is the HTTP status code: 200 for success.
	Status int
	// Body is the JSON body as received.
	Body []byte
	// Err is the error the server sent, decoded from the body of a response
	// whose status is not 200; nil for 200.
	Err *campbus.Error
	// RetryAfter is the response's Retry-After field in whole seconds (a
	// 503 while the camp elects a leader, PROTOCOL.md §11); 0 without one.
	RetryAfter time.Duration
}

// Decode unmarshals the body of a successful response into v. For an error
// response it returns r.Err and leaves v alone.
func (r *Response) Decode(v any) error {
	if r.Err != nil {
		return r.Err
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode response body: %w", err)
	}
	return nil
}

// Event is one event pushed by the server: the decoded body, with Type taken
// from the frame's path, and the body as received. An event whose body is not
// a JSON object arrives with only Type and Raw set.
type Event struct {
	campbus.Event
	Raw []byte
}

// Client is a connection to a campbus server. Its methods are safe for
// concurrent use.
type Client struct {
	conn   net.Conn
	events chan Event
	done   chan struct{} // closed when the reader has ended and pending calls have failed

	// writeMu serialises writers, so that the order of the pending queue is
	// the order of the requests on the wire. It is held across conn.Write;
	// mu may be taken while it is held, never the other way round.
	writeMu sync.Mutex
	nextID  uint64 // writeMu must be held

	mu      sync.Mutex
	pending []*call // requests sent and not yet answered, oldest first; mu must be held
	err     error   // why the connection ended, nil while it is up; mu must be held

	closing   chan struct{} // closed by end: wakes a reader waiting on a full Events channel
	closeOnce sync.Once

	trace TraceFunc   // nil unless WithTrace; set before the reader starts
	tls   *tls.Config // nil unless WithTLS; read by Dial only
}

// call is one request waiting for its response.
type call struct {
	command   string
	requestID string
	result    chan callResult // buffered: the reader never waits for a caller
}

type callResult struct {
	resp *Response
	err  error
}

// Dial connects to a campbus server at addr (host:port). ctx bounds the
// connection attempt only, the TLS handshake included (WithTLS).
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	var settings Client
	for _, opt := range opts {
		opt(&settings)
	}
	var d interface {
		DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	} = &net.Dialer{}
	if settings.tls != nil {
		d = &tls.Dialer{Config: settings.tls}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial campbus server %s: %w", addr, err)
	}
	return New(conn, opts...), nil
}

// WithTLS makes Dial speak TLS (PROTOCOL.md §10), checking the server's
// certificate as config says: against config.RootCAs, or the system's roots
// when nil; the server's name, unless config sets one, is the host of
// Dial's addr.
func WithTLS(config *tls.Config) Option {
	return func(c *Client) { c.tls = config }
}

// New returns a Client speaking over conn, which it owns from now on: Close
// closes it.
func New(conn net.Conn, opts ...Option) *Client {
	c := &Client{
		conn:    conn,
		events:  make(chan Event, EventBuffer),
		done:    make(chan struct{}),
		closing: make(chan struct{}),
	}
	for _, opt := range opts {
		opt(c)
	}
	go c.readLoop()
	return c
}

// Do sends one request and waits for its response. body is marshalled to
// JSON; nil sends no body, and a []byte or json.RawMessage is sent as it is.
//
// A response with an error status is not a Go error: it comes back as a
// Response whose Err is set. Do returns an error when the request could not
// be sent or the connection ended before the response came (then the error
// wraps the cause that Err reports), or when ctx ends first.
//
// Requests may be pipelined from several goroutines. If ctx ends while the
// request is being written, the connection is closed, because a half-written
// frame cannot be taken back. If ctx ends while waiting, the response is
// discarded when it comes.
func (c *Client) Do(ctx context.Context, command string, body any) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	payload, err := marshalBody(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	cl, err := c.send(ctx, command, payload)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-cl.result:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", command, ctx.Err())
	}
}

func marshalBody(body any) ([]byte, error) {
	switch b := body.(type) {
	case nil:
		return nil, nil
	case []byte:
		return b, nil
	case json.RawMessage:
		return b, nil
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode request body: %w", err)
	}
	return payload, nil
}

// send queues a call and writes its frame.
func (c *Client) send(ctx context.Context, command string, payload []byte) (*call, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()

	c.nextID++
	cl := &call{command: command, requestID: strconv.FormatUint(c.nextID, 10), result: make(chan callResult, 1)}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	c.pending = append(c.pending, cl)
	c.mu.Unlock()

	// From here on the call is queued: if writing fails, the connection is
	// ended and the reader fails the call with the cause.
	if deadline, ok := ctx.Deadline(); ok {
		_ = c.conn.SetWriteDeadline(deadline) // an error here shows up in Write
	}
	cutOff := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.conn.SetWriteDeadline(time.Now())
		close(cutOff)
	})
	frame := wire.AppendRequest(nil, command, cl.requestID, payload)
	if c.trace != nil {
		c.trace(Sent, frame)
	}
	_, err := c.conn.Write(frame)
	if !stop() {
		<-cutOff // let it finish before the deadline is cleared for the next writer
	}
	_ = c.conn.SetWriteDeadline(time.Time{})
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (context ended while the request was being written)", ctx.Err())
		}
		c.end(fmt.Errorf("write %s request: %w", command, err))
	}
	return cl, nil
}

// Events returns the channel of events. It is closed when the connection
// ends, after the last event read. See the package doc for backpressure.
func (c *Client) Events() <-chan Event { return c.events }

// Done returns a channel closed when the connection has ended: the reader has
// stopped, pending Do calls have failed and Events is closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended: ErrClosed after Close, an error
// wrapping io.EOF when the server closed it, a *campbus.Error the server sent
// without being asked (e.g. too-many-connections), an error wrapping
// ErrProtocol, or the I/O error met. It returns nil while the connection is up.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection and waits for the reader to stop. Pending Do
// calls fail with an error wrapping ErrClosed (or the earlier cause, if the
// connection had already ended). Closing more than once is harmless; the
// error is always nil.
func (c *Client) Close() error {
	c.end(ErrClosed)
	<-c.done
	return nil
}

// end records why the connection ends, if nothing was recorded before, and
// closes it, which stops the reader.
func (c *Client) end(cause error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = cause
	}
	c.mu.Unlock()
	c.closeOnce.Do(func() {
		close(c.closing)
		_ = c.conn.Close() // nothing to do about an error: the connection is gone either way
	})
}

// readLoop is the reader goroutine: it owns the read side of the connection.
func (c *Client) readLoop() {
	limits := wire.Limits{MaxHeaderBytes: MaxResponseHeaderBytes, MaxBodyBytes: MaxResponseBodyBytes}
	var src io.Reader = c.conn
	var rec *recordingReader
	if c.trace != nil {
		rec = &recordingReader{r: c.conn}
		src = rec
	}
	r := wire.NewReader(src, limits)
	c.end(c.readFrames(r, rec))

	c.mu.Lock()
	pending, cause := c.pending, c.err
	c.pending = nil
	c.mu.Unlock()
	for _, cl := range pending {
		cl.result <- callResult{err: fmt.Errorf("%s: %w", cl.command, cause)}
	}
	close(c.events)
	close(c.done)
}

// readFrames reads and routes frames until the connection ends, and returns
// why it ended. rec, when tracing, holds the raw bytes of each frame.
func (c *Client) readFrames(r *wire.Reader, rec *recordingReader) error {
	for {
		f, err := r.ReadFrame()
		if err == nil && rec != nil {
			c.trace(Received, rec.frameRead(r))
		}
		switch {
		case errors.Is(err, io.EOF):
			return fmt.Errorf("campbus client: server closed the connection: %w", err)
		case err != nil:
			return fmt.Errorf("campbus client: read frame: %w", err)
		case f.IsEvent():
			if !c.deliverEvent(f) {
				return ErrClosed
			}
		case f.IsResponse():
			if err := c.deliverResponse(f); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: server sent a %s %s frame, neither response nor event", ErrProtocol, f.Method, f.Target)
		}
	}
}

// deliverEvent puts an event on the channel, waiting while it is full. It
// returns false if the connection ended meanwhile.
func (c *Client) deliverEvent(f *wire.Frame) bool {
	ev := Event{Raw: f.Body}
	// A body that is not JSON is the server's fault, but losing the connection
	// over one event would punish the user: keep the type and the raw body.
	_ = json.Unmarshal(f.Body, &ev.Event)
	ev.Type = f.Name()
	// When the channel is full this waits, which is the backpressure, until
	// the consumer reads or the connection is ended.
	select {
	case c.events <- ev:
		return true
	case <-c.closing:
		return false
	}
}

// deliverResponse hands a response to the oldest pending call.
func (c *Client) deliverResponse(f *wire.Frame) error {
	resp := &Response{Status: f.Status, Body: f.Body}
	if f.Status != 200 {
		resp.Err = decodeError(f)
	}
	if secs, err := strconv.ParseUint(f.Get("Retry-After"), 10, 31); err == nil {
		resp.RetryAfter = time.Duration(secs) * time.Second
	}
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		if resp.Err != nil {
			// too-many-connections, shutting-down, malformed...: the server's
			// own word on why the connection ends.
			return resp.Err
		}
		return fmt.Errorf("%w: response %d with no request waiting", ErrProtocol, f.Status)
	}
	cl := c.pending[0]
	gotID := f.Get(wire.FieldRequestID)
	// A response without Request-Id is accepted: the server cannot repeat the
	// id of a frame it could not parse (400 malformed, 413, 431).
	if gotID != "" && gotID != cl.requestID {
		c.mu.Unlock()
		return fmt.Errorf("%w: response has Request-Id %q, want %q (%s)", ErrProtocol, gotID, cl.requestID, cl.command)
	}
	c.pending[0] = nil
	c.pending = c.pending[1:]
	c.mu.Unlock()
	cl.result <- callResult{resp: resp}
	return nil
}

// decodeError reads {"error": ..., "code": ...} from an error response,
// falling back to the status line when the body says nothing useful.
func decodeError(f *wire.Frame) *campbus.Error {
	e := &campbus.Error{Status: f.Status}
	_ = json.Unmarshal(f.Body, e) // a body that is not JSON leaves the fallbacks below
	if e.Message == "" {
		e.Message = f.Reason
		if e.Message == "" {
			e.Message = campbus.StatusText(f.Status)
		}
	}
	return e
}
