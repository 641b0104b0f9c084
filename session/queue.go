package session

import "runtime"

// The write side of a session. Frames go into a bounded queue. Over a
// TryWriter, the goroutine that queued them writes what the socket takes at
// once; a writer goroutine runs only while something is left to write: it
// takes the whole queue at once, hands it to the transport, and looks
// again; when the queue is empty it ends. An idle camper thus holds no
// writer goroutine (and, in the TCP transport, no write buffer), which is
// most of what a connection would otherwise cost.

// hold starts holding events until release.
func (s *Session) hold() {
	s.mu.Lock()
	s.holding = true
	s.mu.Unlock()
}

// release queues the checkin response, then the events held meanwhile (kept
// only if the checkin succeeded: until then only directs to a campId the
// camper did not get can have arrived).
func (s *Session) release(response []byte, keep bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendLocked(response)
	if keep {
		for _, f := range s.held {
			s.sendLocked(f)
		}
	}
	s.held, s.holding = nil, false
}

// deliverHeld queues an event frame, or holds it during a checkin (until
// release), and leaves the writer to start at wakeWriter. It reports whether
// the caller must call wakeWriter (once; later calls report false until
// then).
func (s *Session) deliverHeld(frame []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holding {
		if len(s.held) >= s.h.opts.OutboundFrames {
			s.overflowLocked()
			return false
		}
		s.held = append(s.held, frame)
		return false
	}
	if !s.queueLocked(frame) || s.writing || s.wakePending {
		return false
	}
	s.wakePending = true
	return true
}

// wakeWriter starts the writer for frames queued by deliverHeld, if none
// runs.
func (s *Session) wakeWriter() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wakePending = false
	if !s.writing && len(s.queue) > 0 && !s.closed {
		s.startWriterLocked()
	}
}

// queueOnly queues a frame and leaves it for flushQueued (or a writer
// already running) to write.
func (s *Session) queueOnly(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queueLocked(frame)
}

// flushQueued starts writing what is queued, if no writer runs.
func (s *Session) flushQueued() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.writing && len(s.queue) > 0 && !s.closed {
		s.startWriterLocked()
	}
}

func (s *Session) send(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendLocked(frame)
}

// sendLocked queues a frame without ever blocking, and starts the writer.
// s.mu must be held.
func (s *Session) sendLocked(frame []byte) {
	if s.queueLocked(frame) && !s.writing {
		s.startWriterLocked()
	}
}

// queueLocked queues a frame, and reports whether it did: not when the
// session is closing, nor past the queue's bounds (the camper is then too
// slow and is disconnected). s.mu must be held.
func (s *Session) queueLocked(frame []byte) bool {
	if s.closing {
		return false
	}
	if len(s.queue) >= s.h.opts.OutboundFrames || s.queued+len(frame) > s.h.opts.OutboundBytes {
		s.overflowLocked()
		return false
	}
	s.queue = append(s.queue, frame)
	s.queued += len(frame)
	return true
}

// startWriterLocked writes what it can of the queue at once if the
// transport is a TryWriter, and starts the writer for the rest. s.mu must
// be held and no writer running.
func (s *Session) startWriterLocked() {
	if tw, ok := s.t.(TryWriter); ok && !s.closed {
		n, err := tw.TryWrite(s.queue)
		if err == nil {
			s.dropWrittenLocked(n)
			if len(s.queue) == 0 {
				return
			}
		}
		// On an error the writer tries again and ends the session.
	}
	s.writing = true
	s.writers.Add(1)
	go s.writeLoop()
}

// overflowLocked disconnects a camper too slow to read what it is sent.
// s.mu must be held.
func (s *Session) overflowLocked() {
	s.h.stats.slowConsumers.Add(1)
	s.h.log.Warn("slow consumer disconnected", "session", s.id, "remote", s.remote,
		"queuedFrames", len(s.queue), "queuedBytes", s.queued)
	s.closeNowLocked(CloseTooSlow)
}

// closeNowLocked closes the transport at once, dropping what is queued,
// and wakes the reader (a transport need not end a read it is closed
// under). s.mu must be held; transports take no lock of the session's.
func (s *Session) closeNowLocked(why CloseReason) {
	s.closing, s.queue = true, nil
	if !s.closed {
		s.closed = true
		s.closeWhy = why
		_ = s.t.Close(why)
	}
	s.t.Wake()
}

func (s *Session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// writeLoop writes queued frames until the queue is empty.
func (s *Session) writeLoop() {
	defer s.writers.Done()
	for {
		// Let what else is ready run first (the dispatcher with the rest of
		// a burst, the reader with the next response): under load more
		// frames join the batch, and one system call carries them; when
		// nothing else is ready this returns at once.
		runtime.Gosched()
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		if len(batch) == 0 || s.closed {
			s.writing = false
			if s.closing && !s.closed {
				s.closed = true
				_ = s.t.Close(s.closeWhy)
			}
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()

		written := 0
		for _, f := range batch {
			written += len(f)
		}
		err := s.t.Write(batch, s.h.opts.WriteTimeout)
		s.mu.Lock()
		s.queued -= written
		if err != nil {
			s.writing = false
			s.mu.Unlock()
			s.writeFailed(err)
			return
		}
		s.mu.Unlock()
	}
}

// writeFailed ends a session whose transport takes no more: a peer that
// accepts nothing within WriteTimeout is counted apart from other errors.
func (s *Session) writeFailed(err error) {
	if IsTimeout(err) {
		s.h.stats.writeTimeouts.Add(1)
		s.h.log.Warn("write timed out; connection closed", "session", s.id, "remote", s.remote)
	}
	s.abort("write: "+err.Error(), CloseNormal)
}

// closeAfterFlush lets the writer send what is queued, then close.
func (s *Session) closeAfterFlush(why CloseReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	if why != CloseNormal || s.closeWhy == CloseNormal {
		s.closeWhy = why
	}
	if !s.writing && !s.closed {
		s.closed = true
		_ = s.t.Close(s.closeWhy)
	}
}

// abort closes the transport at once.
func (s *Session) abort(why string, reason CloseReason) {
	s.mu.Lock()
	already := s.closed
	s.closeNowLocked(reason)
	s.mu.Unlock()
	s.t.Wake()
	if !already {
		s.h.log.Debug("connection aborted", "session", s.id, "why", why)
	}
}

// dropWrittenLocked takes n written bytes off the front of the queue. s.mu
// must be held.
func (s *Session) dropWrittenLocked(n int) {
	s.queued -= n
	i := 0
	for ; i < len(s.queue) && n >= len(s.queue[i]); i++ {
		n -= len(s.queue[i])
		s.queue[i] = nil
	}
	s.queue = s.queue[i:]
	if len(s.queue) > 0 && n > 0 {
		s.queue[0] = s.queue[0][n:] // a frame written in part
	}
	if len(s.queue) == 0 {
		s.queue = nil
	}
}
