//go:build !unix

package tcpfront

// waitReadable does nothing where the socket cannot be peeked: the reader
// keeps its buffer.
func (t *transport) waitReadable() error { return nil }

// Idle is false: without a peek the reader cannot tell.
func (t *transport) Idle() bool { return false }
