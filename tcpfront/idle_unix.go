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
	t.r.Release()
	var one [1]byte
	return t.raw.Read(func(fd uintptr) bool {
		for {
			_, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch err {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // drained: wait for the poller
			}
			return true // a byte, the end of the stream, or an error: the read will tell
		}
	})
}
