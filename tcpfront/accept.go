package tcpfront

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"
)

// acceptBackoffMin and acceptBackoffMax bound the pause after a temporary
// accept error such as running out of file descriptors.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptLoop accepts connections on ln and hands each to handle, for both
// the front-end and the echo server. It returns nil once stop is closed or
// ln is closed, or when handle returns false (shutdown began); it returns
// the error of an Accept that failed for good. Temporary errors (out of
// file descriptors or memory) are logged and retried after a pause that
// doubles up to a second, cut short by stop.
func acceptLoop(name string, ln net.Listener, stop <-chan struct{}, log *slog.Logger, handle func(net.Conn) bool) error {
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-stop:
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !isTemporaryAcceptError(err) {
				return fmt.Errorf("%s accept on %s: %w", name, ln.Addr(), err)
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			log.Warn(name+" accept failed, retrying", "err", err, "delay", backoff)
			pause := time.NewTimer(backoff)
			select {
			case <-stop:
				pause.Stop()
				return nil
			case <-pause.C:
			}
			continue
		}
		backoff = 0
		if !handle(conn) {
			return nil
		}
	}
}

// isTemporaryAcceptError reports whether Accept may succeed if tried again
// later: the process or system ran out of descriptors or buffer memory.
func isTemporaryAcceptError(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
