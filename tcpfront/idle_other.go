//go:build !unix

package tcpfront

// waitReadable does nothing where the socket cannot be peeked: the reader
// keeps its buffer.
func (t *transport) waitReadable() error { return nil }
