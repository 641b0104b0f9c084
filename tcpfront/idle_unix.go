//go:build unix

package tcpfront

import "syscall"

// waitReadable waits, on a plain TCP connection with nothing buffered,
// until the socket has something to read (or the read deadline passes),
// having given the read buffer back meanwhile: an idle camper then holds
// no buffer. Whether the socket is drained is asked with a non-blocking
// peek before waiting, so that bytes already there (the kernel signals
// readiness once) are never waited for.
func (t *transport) waitReadable() error {
	if t.raw == nil || t.r.Buffered() > 0 {
		return nil
	}
	if t.ready {
		t.ready = false
		return nil
	}
	t.r.Release()
	t.applyDeadline()
	return t.raw.Read(readable)
}

// Idle reports that nothing waits to be read: nothing buffered, and a
// non-blocking peek finds the socket empty (see session.Idler). Over TLS,
// whose records may hide bytes the peek cannot judge, it is never idle.
func (t *transport) Idle() bool {
	if t.raw == nil || t.r.Buffered() > 0 {
		return false
	}
	if err := t.raw.Control(func(fd uintptr) { t.ready = readable(fd) }); err != nil {
		return false // closed: the read will tell
	}
	return !t.ready
}

// readable peeks at the socket without blocking: false when it is drained
// (EAGAIN), true when a byte, the end of the stream or an error is there
// for the read to tell.
func readable(fd uintptr) bool {
	var one [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		return true
	}
}
