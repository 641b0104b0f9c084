package tcpfront

import (
	"bufio"
	"errors"
	"net"
	"time"
)

// The write side of a connection. Frames go into a bounded queue; a writer
// goroutine runs only while there is something to write: it takes the whole
// queue at once, writes it through a buffer borrowed from the server's pool,
// flushes, and looks again; when the queue is empty it gives the buffer back
// and ends. An idle camper thus holds no writer goroutine and no buffer,
// which is most of what a connection would otherwise cost.

// sendLocked queues a frame without ever blocking. c.mu must be held.
func (c *conn) sendLocked(frame []byte) {
	if c.closing {
		return
	}
	if len(c.queue) >= c.s.opts.OutboundFrames || c.queued+len(frame) > c.s.opts.OutboundBytes {
		c.overflowLocked()
		return
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame)
	if !c.writing {
		c.writing = true
		c.writers.Add(1)
		go c.writeLoop()
	}
}

// overflowLocked disconnects a camper too slow to read what it is sent.
// c.mu must be held.
func (c *conn) overflowLocked() {
	c.s.stats.slowConsumers.Add(1)
	c.s.log.Warn("slow consumer disconnected", "session", c.id, "remote", c.remote,
		"queuedFrames", len(c.queue), "queuedBytes", c.queued)
	c.closeNowLocked()
}

// closeNowLocked closes the socket at once, dropping what is queued.
// c.mu must be held.
func (c *conn) closeNowLocked() {
	c.closing, c.queue = true, nil
	if !c.closed {
		c.closed = true
		c.nc.Close()
	}
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// writeLoop writes queued frames until the queue is empty.
func (c *conn) writeLoop() {
	defer c.writers.Done()
	var bw *bufio.Writer
	defer func() {
		if bw != nil {
			bw.Reset(nil)
			c.s.writeBuffers.Put(bw)
		}
	}()
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 || c.closed {
			c.writing = false
			if c.closing && !c.closed {
				c.closed = true
				c.nc.Close()
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		if bw == nil {
			bw = c.s.writeBuffers.Get().(*bufio.Writer)
			bw.Reset(c.nc)
		}
		written := 0
		err := error(nil)
		for _, frame := range batch {
			// bufio writes through to the socket when its buffer fills, so
			// the deadline must be fresh before every write, not only the
			// flush.
			_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout))
			if _, err = bw.Write(frame); err != nil {
				break
			}
			written += len(frame)
		}
		if err == nil {
			_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout))
			err = bw.Flush()
		}
		c.mu.Lock()
		c.queued -= written
		if err != nil {
			c.writing = false
			c.mu.Unlock()
			c.writeFailed(err)
			return
		}
		c.mu.Unlock()
	}
}

// writeFailed ends a connection whose socket takes no more: a peer that
// accepts nothing within WriteTimeout is counted apart from other errors.
func (c *conn) writeFailed(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.s.stats.writeTimeouts.Add(1)
		c.s.log.Warn("write timed out; connection closed", "session", c.id, "remote", c.remote)
	}
	c.abort("write: " + err.Error())
}

// closeAfterFlush lets the writer send what is queued, then close.
func (c *conn) closeAfterFlush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closing = true
	if !c.writing && !c.closed {
		c.closed = true
		c.nc.Close()
	}
}

// abort closes the connection at once.
func (c *conn) abort(why string) {
	c.mu.Lock()
	already := c.closed
	c.closeNowLocked()
	c.mu.Unlock()
	if !already {
		c.s.log.Debug("connection aborted", "session", c.id, "why", why)
	}
}
