package client

import (
	"io"

	"github.com/campbus/campbus/wire"
)

// Option configures a Client made by Dial or New.
type Option func(*Client)

// Direction tells which way a traced frame travelled.
type Direction int

// Directions of a traced frame.
const (
	Sent     Direction = iota // from the client to the server
	Received                  // from the server to the client
)

// TraceFunc receives each frame as it crossed the wire, byte for byte: a
// request before it is written, a response or event once it was read. It is
// called from the goroutine that sends (sent frames in wire order) and from
// the reader (received frames in wire order); it must not block for long nor
// call the Client. frame is only valid during the call.
type TraceFunc func(dir Direction, frame []byte)

// WithTrace makes the client hand every frame to trace, for people learning
// the protocol (`campbus connect --trace`).
func WithTrace(trace TraceFunc) Option {
	return func(c *Client) { c.trace = trace }
}

// recordingReader keeps the bytes read through it until frameRead takes them
// as the raw form of the frame just parsed.
type recordingReader struct {
	r   io.Reader
	buf []byte // read from r and not yet given to a frame
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	rr.buf = append(rr.buf, p[:n]...)
	return n, err
}

// frameRead returns the bytes of the frame the wire reader has just parsed:
// everything recorded except what the reader still holds in its buffer.
func (rr *recordingReader) frameRead(r *wire.Reader) []byte {
	n := len(rr.buf) - r.Buffered()
	frame := rr.buf[:n:n]
	rr.buf = append([]byte(nil), rr.buf[n:]...) // the next frame's start; frame keeps the old array
	return frame
}
