// Package session is what a camper is to a campbus node, whatever carries
// its bytes: its state (new, checking in, checked in, leaving, closed), its
// checkin and checkout, its bounded outbound queue and the one writer that
// drains it, and the node's registry of campers and groups that bus events
// are fanned out through.
//
// A front-end (tcpfront for raw TCP, webfront for WebSocket) accepts a
// connection, wraps it in a Transport and hands it to Hub.Serve. The
// transport only reads requests, writes frames its Codec encoded, and
// closes; everything else is decided here, once, for every transport.
//
// Each camper has one reader goroutine (the Serve call: one request on the
// bus at a time, so responses keep the order of requests) and, only while
// there is something to write, one writer goroutine that alone writes to
// the transport. Frames wait in a bounded queue; a camper whose queue is
// full is too slow to keep up and is disconnected, never waited for.
//
// Events reach the node once: the hub subscribes to group.* and camper.*
// and fans each event out to the local campers of that group or campId. A
// camper joins its group's fan-out when its own join event passes through,
// so it sees exactly the group's events that follow its join, in the
// group's order. The registry is sharded by group and by campId; no lock is
// held while an event is queued for the campers it goes to.
package session

import (
	"errors"
	"time"
)

// Transport carries one camper's frames. The session calls Next from its
// reader goroutine only, Write from its writer goroutine only, and Wake and
// Close from any goroutine.
type Transport interface {
	// Next reads the next request. Before the camper checks in, idle is
	// when waiting for a request gives up (ErrIdle); zero means no limit.
	// A request that cannot be read comes back as a fatal *campbus.Error
	// (answered, then the transport is closed); a peer gone as io.EOF or
	// another error; a read cut short by Wake as ErrWoken.
	Next(idle time.Time) (*Request, error)
	// Write writes frames encoded by Codec, in order, and returns once
	// they are handed to the network; each write must make progress
	// within timeout, else Write fails with an error for which IsTimeout
	// is true.
	Write(frames [][]byte, timeout time.Duration) error
	// Wake makes a Next in progress, and every later one, return ErrWoken.
	Wake()
	// Close closes the transport; why is told to the peer where the
	// transport can (a WebSocket close code).
	Close(why CloseReason) error
	// Codec encodes this transport's frames.
	Codec() Codec
	// Name names the kind of transport in logs and metrics: "tcp", "ws".
	Name() string
	// RemoteAddr is the peer's address, for logs.
	RemoteAddr() string
}

// Idler is a Transport that can tell, without blocking, that its next
// request has not arrived: nothing is buffered and nothing waits in the
// socket (false when it cannot tell). The session of such a transport
// waits for that request on a goroutine of its own: the goroutine that
// handled the requests before, whose stack grew with them (a request over
// the bus takes about 8 KiB), ends, and a quiet camper holds a goroutine
// with a small stack.
type Idler interface {
	Idle() bool
}

// FrameBufferer is a Transport that can tell that its next request is read
// whole already: Next returns it without waiting. While that holds, the
// session reads on with a camper's messages still on the bus
// (pipeline.go); otherwise it answers them first, so that no response
// waits on a request the camper has not finished sending (or will not
// send before it has the answers).
type FrameBufferer interface {
	FrameBuffered() bool
}

// TryWriter is a Transport that can write without waiting: TryWrite writes
// what the connection takes at once of frames (in order, possibly ending
// inside a frame) and returns the bytes written; an error is the
// connection's. The session writes through it, on the goroutine that
// queued the frames, when no writer runs: a writer goroutine then starts
// only for what a full socket leaves over, and most frames go out with no
// goroutine started and no hand-off. It is called with the session's
// lock held, and must not call back into the session.
type TryWriter interface {
	TryWrite(frames [][]byte) (int, error)
}

// Request is one request as a transport read it.
type Request struct {
	// Command is the command named (the path, or the WebSocket "command").
	Command string
	// Method is the request's method, "" where the transport has none
	// (every WebSocket request is a POST).
	Method string
	// ID is the client's request id, echoed in the response as the codec
	// does it; "" for none.
	ID   string
	Body []byte
}

// Codec encodes the frames of one transport.
type Codec interface {
	// Response encodes a response to the request with id reqID.
	Response(status int, reqID string, body []byte) []byte
	// Event encodes an event of type typ with its JSON body.
	Event(typ string, body []byte) []byte
}

// CloseReason says why a session closes its transport.
type CloseReason int

// Reasons to close.
const (
	CloseNormal    CloseReason = iota // checkout, or the peer left
	CloseGoingAway                    // the server shuts down
	CloseBadFrame                     // a frame could not be read
	CloseTooLarge                     // a frame over the limits
	CloseTooSlow                      // the camper reads too slowly
	ClosePolicy                       // refused: too many connections, or evicted
	CloseInternal                     // a fault in the server
)

// Errors a transport returns from Next.
var (
	// ErrIdle: no request came before the idle deadline.
	ErrIdle = errors.New("session: idle deadline passed")
	// ErrFrameTimeout: a request was begun and not finished in time.
	ErrFrameTimeout = errors.New("session: frame not finished in time")
	// ErrWoken: Wake was called.
	ErrWoken = errors.New("session: woken")
)

// IsTimeout reports whether a Write failed because the peer accepted
// nothing for too long.
func IsTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
