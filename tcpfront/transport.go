package tcpfront

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/session"
	"github.com/campbus/campbus/wire"
)

// transport is one camper's TCP connection, speaking wire frames.
type transport struct {
	nc  net.Conn
	s   *Server
	r   *wire.Reader
	iov [][]byte // the writer's, for writev
	// raw reaches a plain TCP connection's socket: to peek at it and wait
	// for it without a read buffer (idle_unix.go), and to write without
	// waiting (trywrite_unix.go); nil over TLS.
	raw syscall.RawConn
	// ready: Idle just found bytes in the socket, so the read that follows
	// need not peek again. The reader's alone.
	ready bool

	// mu guards woken and the read deadline: once woken is set, no read
	// deadline is moved past the one that woke the reader. want is the
	// deadline the next read from the socket must have, set the one the
	// socket has: a deadline is put on the socket only when a read from it
	// is about to happen (see socketReader), so a frame that came whole
	// with the bytes before it costs no deadline at all.
	mu    sync.Mutex
	woken bool
	want  time.Time
	set   time.Time

	// closeOnce closes the connection and then calls closed (the
	// server's count of connections: the session may end on another
	// goroutine than the one that started it, see session.Idler).
	closeOnce sync.Once
	closed    func()
}

func newTransport(nc net.Conn, s *Server) *transport {
	t := &transport{nc: nc, s: s}
	t.r = s.readers.NewReader(socketReader{t})
	if tc, ok := nc.(*net.TCPConn); ok {
		t.raw, _ = tc.SyscallConn()
	}
	return t
}

// codec encodes wire frames.
type codec struct{}

func (codec) Response(status int, reqID string, body []byte) []byte {
	return wire.AppendResponse(nil, status, reqID, body)
}

func (codec) Event(typ string, body []byte) []byte { return wire.AppendEvent(nil, typ, body) }

func (t *transport) Codec() session.Codec { return codec{} }
func (t *transport) Name() string         { return "tcp" }
func (t *transport) RemoteAddr() string   { return t.nc.RemoteAddr().String() }

// FrameBuffered reports that the next request is read whole already (see
// session.FrameBufferer).
func (t *transport) FrameBuffered() bool { return t.r.FrameBuffered() }

// Next waits for a frame until idle, then gives the frame FrameTimeout to
// arrive whole.
func (t *transport) Next(idle time.Time) (*session.Request, error) {
	if !t.wantDeadline(idle) {
		return nil, session.ErrWoken
	}
	if err := t.waitReadable(); err != nil {
		return nil, t.readError(err, session.ErrIdle)
	}
	if err := t.r.Wait(); err != nil {
		return nil, t.readError(err, session.ErrIdle)
	}
	if !t.wantDeadline(time.Now().Add(t.s.opts.FrameTimeout)) {
		return nil, session.ErrWoken
	}
	f, err := t.r.ReadFrame()
	if err != nil {
		return nil, t.readError(err, session.ErrFrameTimeout)
	}
	if f.IsResponse() {
		return nil, campbus.FatalErrorf(http.StatusBadRequest, campbus.CodeMalformed, "clients send requests, not responses")
	}
	return &session.Request{Command: f.Name(), Method: f.Method, ID: f.Get(wire.FieldRequestID), Body: f.Body}, nil
}

// readError names a read that stopped: a deadline is timeout (unless Wake
// set it), anything else passes as it is.
func (t *transport) readError(err error, timeout error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.mu.Lock()
		woken := t.woken
		t.mu.Unlock()
		if woken {
			return session.ErrWoken
		}
		return timeout
	}
	return err
}

// wantDeadline makes d the deadline of the reads from the socket that
// follow; false once the reader is woken.
func (t *transport) wantDeadline(d time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.woken {
		return false
	}
	t.want = d
	return true
}

// applyDeadline puts the wanted read deadline on the socket, before a read
// from it (a woken reader keeps the deadline that woke it).
func (t *transport) applyDeadline() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.woken && !t.want.Equal(t.set) {
		_ = t.nc.SetReadDeadline(t.want)
		t.set = t.want
	}
}

// socketReader is what the frame reader reads from: the socket, with the
// wanted deadline applied before each read.
type socketReader struct{ t *transport }

func (r socketReader) Read(p []byte) (int, error) {
	r.t.applyDeadline()
	return r.t.nc.Read(p)
}

// Wake ends a read in progress.
func (t *transport) Wake() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.woken = true
	_ = t.nc.SetReadDeadline(time.Now())
}

// Write writes frames. On a plain TCP connection the frames go out as they
// are, up to writeChunk bytes a system call (writev: no copy, one call for
// a batch of small frames); over TLS, which encrypts record by record,
// through a buffer borrowed for the call. The deadline is fresh before each
// system call, so a camper that reads slowly but reads is not cut off.
func (t *transport) Write(frames [][]byte, timeout time.Duration) error {
	if _, plain := t.nc.(*net.TCPConn); plain {
		for len(frames) > 0 {
			n, size := 0, 0
			for n < len(frames) && (n == 0 || size+len(frames[n]) <= writeChunk) {
				size += len(frames[n])
				n++
			}
			_ = t.nc.SetWriteDeadline(time.Now().Add(timeout))
			// WriteTo consumes the slice it is given (and nils its
			// entries): give it the transport's own, never the caller's.
			iov := append(t.iov[:0], frames[:n]...)
			t.iov = iov[:0]
			bufs := net.Buffers(iov)
			_, err := bufs.WriteTo(t.nc)
			clear(iov) // no frame kept alive by an idle connection
			if err != nil {
				return err
			}
			frames = frames[n:]
		}
		return nil
	}
	bw := t.s.writeBuffers.Get().(*bufio.Writer)
	bw.Reset(t.nc)
	defer func() {
		bw.Reset(nil)
		t.s.writeBuffers.Put(bw)
	}()
	for _, f := range frames {
		// bufio writes through to the socket when its buffer fills, so the
		// deadline must be fresh before every write, not only the flush.
		if bw.Available() < len(f) {
			_ = t.nc.SetWriteDeadline(time.Now().Add(timeout))
		}
		if _, err := bw.Write(f); err != nil {
			return err
		}
	}
	_ = t.nc.SetWriteDeadline(time.Now().Add(timeout))
	return bw.Flush()
}

// Close closes the connection; TCP has no way to say why.
func (t *transport) Close(session.CloseReason) error {
	err := net.ErrClosed
	t.closeOnce.Do(func() {
		err = t.nc.Close()
		if t.closed != nil {
			t.closed()
		}
	})
	return err
}
