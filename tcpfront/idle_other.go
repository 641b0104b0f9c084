//go:build !unix

package tcpfront

// waitReadable does nothing where the socket cannot be peeked: the reader
// keeps its buffer.
func (t *transport) waitReadable() error { return nil }

// Idle cannot tell without a peek, unless bytes are buffered.
func (t *transport) Idle() (idle, known bool) { return false, t.r.Buffered() > 0 }
