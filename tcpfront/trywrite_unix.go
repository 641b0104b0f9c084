//go:build darwin || linux || openbsd

package tcpfront

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxIov bounds the frames of one writev (IOV_MAX is 1024 on Linux).
const maxIov = 1024

// TryWrite writes what the socket takes at once of frames, with writev
// calls that never wait, and returns the bytes written (see
// session.TryWriter). Over TLS it writes nothing: the writer does it.
func (t *transport) TryWrite(frames [][]byte) (int, error) {
	if t.raw == nil {
		return 0, nil
	}
	written := 0
	var werr error
	try := func() error {
		return t.raw.Write(func(fd uintptr) bool {
			for len(frames) > 0 {
				batch, size := frames[:0:0], 0
				for i := 0; i < len(frames) && i < maxIov && (i == 0 || size+len(frames[i]) <= writeChunk); i++ {
					size += len(frames[i])
					batch = frames[:i+1]
				}
				n, err := unix.Writev(int(fd), batch)
				if err == syscall.EINTR {
					continue
				}
				if err != nil {
					if err != syscall.EAGAIN {
						werr = err
					}
					return true // never wait: what is left goes to the writer
				}
				written += n
				if n < size {
					return true // the socket is full
				}
				frames = frames[len(batch):]
			}
			return true
		})
	}
	err := try()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The writer's last deadline has passed since it wrote; a write
		// that never waits needs none.
		_ = t.nc.SetWriteDeadline(time.Time{})
		err = try()
	}
	if err == nil {
		err = werr
	}
	return written, err
}
