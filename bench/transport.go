package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/wire"
)

// Transports: how a bench camper speaks the protocol.
const (
	// TransportRaw writes frames with package wire and reads them on one
	// goroutine per connection, handling each event where it is read.
	TransportRaw = "raw"
	// TransportClient uses package client: Do per request (one goroutine
	// each while in flight) and a goroutine draining Events.
	TransportClient = "client"
)

// event is what the bench reads from an event frame.
type event struct {
	Type     string   `json:"type"`
	Group    int      `json:"group"`
	From     string   `json:"from"`
	Text     string   `json:"text"`
	Seq      int      `json:"seq"`
	MaxCount int      `json:"maxCount"`
	Members  []string `json:"members"`
}

// responseFunc receives the answer to one request: its status and body, or
// err when the connection ended first. It runs on the transport's goroutine.
type responseFunc func(status int, body []byte, err error)

// transport is one camper's connection.
type transport interface {
	// call sends a request; done runs exactly once with its response.
	call(command string, body []byte, done responseFunc)
	// close closes the connection and waits until no callback runs any more.
	close()
	// ended is closed when the connection has ended and every callback ran.
	ended() <-chan struct{}
}

// callTimeout bounds one request of the client transport.
const callTimeout = 60 * time.Second

// do sends one request and waits for its response, or for ctx.
func do(ctx context.Context, t transport, command string, body []byte) (int, []byte, error) {
	type result struct {
		status int
		body   []byte
		err    error
	}
	ch := make(chan result, 1)
	t.call(command, body, func(status int, body []byte, err error) { ch <- result{status, body, err} })
	select {
	case r := <-ch:
		return r.status, r.body, r.err
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
}

// dialTransport connects to addr with the named transport; onEvent runs for
// every event, on one goroutine at a time.
func dialTransport(ctx context.Context, kind, addr string, onEvent func(*event)) (transport, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	switch kind {
	case TransportRaw, "":
		return newRawConn(nc, onEvent), nil
	case TransportClient:
		return newClientConn(nc, onEvent), nil
	}
	nc.Close()
	return nil, fmt.Errorf("unknown transport %q", kind)
}

// rawConn speaks the wire protocol directly: requests are written under a
// lock, and one reader goroutine matches responses to calls in order and
// handles events as they come.
type rawConn struct {
	nc      net.Conn
	onEvent func(*event)
	done    chan struct{}

	mu      sync.Mutex // serialises writes, so the order of pending is the order on the wire
	pending []responseFunc
	dead    error // set once the reader has ended; mu must be held
	buf     []byte
}

func newRawConn(nc net.Conn, onEvent func(*event)) *rawConn {
	c := &rawConn{nc: nc, onEvent: onEvent, done: make(chan struct{})}
	go c.readLoop()
	return c
}

func (c *rawConn) call(command string, body []byte, done responseFunc) {
	c.mu.Lock()
	if c.dead != nil {
		err := c.dead
		c.mu.Unlock()
		done(0, nil, err)
		return
	}
	c.pending = append(c.pending, done)
	c.buf = wire.AppendRequest(c.buf[:0], command, "", body)
	_, err := c.nc.Write(c.buf)
	c.mu.Unlock()
	if err != nil {
		// The reader sees the close and fails the pending calls.
		c.nc.Close()
	}
}

func (c *rawConn) readLoop() {
	r := wire.NewReader(c.nc, wire.Limits{MaxBodyBytes: client.MaxResponseBodyBytes})
	err := c.readFrames(r)
	c.nc.Close()
	c.mu.Lock()
	c.dead = fmt.Errorf("connection ended: %w", err)
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, done := range pending {
		done(0, nil, c.dead)
	}
	close(c.done)
}

func (c *rawConn) readFrames(r *wire.Reader) error {
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return err
		}
		if f.IsEvent() {
			ev := &event{}
			if err := json.Unmarshal(f.Body, ev); err != nil {
				return fmt.Errorf("event %s: %w", f.Name(), err)
			}
			ev.Type = f.Name()
			c.onEvent(ev)
			continue
		}
		if !f.IsResponse() {
			return fmt.Errorf("server sent a %s frame", f.Method)
		}
		c.mu.Lock()
		if len(c.pending) == 0 {
			c.mu.Unlock()
			return fmt.Errorf("response %d %s with no request waiting", f.Status, f.Body)
		}
		done := c.pending[0]
		c.pending[0] = nil
		c.pending = c.pending[1:]
		c.mu.Unlock()
		done(f.Status, f.Body, nil)
	}
}

func (c *rawConn) close() {
	c.nc.Close()
	<-c.done
}

func (c *rawConn) ended() <-chan struct{} { return c.done }

// clientConn uses the Go client of package client.
type clientConn struct {
	c       *client.Client
	onEvent func(*event)
	done    chan struct{}

	// mu orders calls.Add before calls.Wait: once ending is set, no call
	// starts a goroutine any more.
	mu     sync.Mutex
	ending bool
	calls  sync.WaitGroup
}

func newClientConn(nc net.Conn, onEvent func(*event)) *clientConn {
	c := &clientConn{c: client.New(nc), onEvent: onEvent, done: make(chan struct{})}
	go c.eventLoop()
	return c
}

func (c *clientConn) eventLoop() {
	for ev := range c.c.Events() {
		c.onEvent(&event{
			Type: ev.Type, Group: ev.Group, From: ev.From, Text: ev.Text, Seq: ev.Seq,
			MaxCount: ev.MaxCount, Members: ev.Members,
		})
	}
	c.mu.Lock()
	c.ending = true
	c.mu.Unlock()
	c.calls.Wait()
	close(c.done)
}

func (c *clientConn) call(command string, body []byte, done responseFunc) {
	c.mu.Lock()
	if c.ending {
		c.mu.Unlock()
		done(0, nil, fmt.Errorf("connection ended: %w", c.c.Err()))
		return
	}
	c.calls.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.calls.Done()
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		resp, err := c.c.Do(ctx, command, body)
		if err != nil {
			done(0, nil, err)
			return
		}
		done(resp.Status, resp.Body, nil)
	}()
}

func (c *clientConn) close() {
	_ = c.c.Close()
	<-c.done
}

func (c *clientConn) ended() <-chan struct{} { return c.done }

// isEOF reports whether err only says the server closed the connection.
func isEOF(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, client.ErrClosed) }
