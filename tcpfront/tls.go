package tcpfront

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/tlsconf"
	"github.com/campbus/campbus/wire"
)

// plainReplyTime bounds the answer to a client that spoke plain frames to
// the TLS port, and the wait for it to read the answer before the close.
const plainReplyTime = 500 * time.Millisecond

// handshake runs the TLS handshake of a new connection, within
// HandshakeTimeout or until the server stops accepting, and returns the
// connection to serve. A client that fails it is counted, logged and
// closed, and never reaches the hub; one that sent a plain frame first is
// answered 400 malformed, in plain frames, before the close.
func (s *Server) handshake(nc net.Conn) (net.Conn, bool) {
	tc := tls.Server(nc, s.opts.TLS)
	ctx, cancel := context.WithTimeout(s.stopped, s.opts.HandshakeTimeout)
	defer cancel()
	err := tc.HandshakeContext(ctx)
	if err == nil {
		return tc, true
	}
	defer nc.Close()
	if s.stopped.Err() != nil {
		return nil, false // shutting down: not the client's doing
	}
	reason := tlsconf.Classify(err)
	if s.opts.HandshakeFailed != nil {
		s.opts.HandshakeFailed(reason)
	}
	s.log.Info("TLS handshake failed", "remote", nc.RemoteAddr().String(), "reason", reason, "err", err)
	var header tls.RecordHeaderError
	if errors.As(err, &header) && header.Conn != nil && looksLikeFrame(header.RecordHeader) {
		tellToUseTLS(header.Conn)
	}
	return nil, false
}

// looksLikeFrame reports whether the first bytes read are those of a
// request frame (POST /checkin HTTP/1.1) rather than noise.
func looksLikeFrame(first [5]byte) bool { return first[0] >= 'A' && first[0] <= 'Z' }

// tellToUseTLS answers a client that spoke plain frames to the TLS port,
// then lets it read the answer: a socket closed with unread bytes resets
// the connection, and the reset may destroy the answer before it is read.
func tellToUseTLS(nc net.Conn) {
	body, _ := json.Marshal(campbus.Errorf(http.StatusBadRequest, campbus.CodeMalformed,
		"this port speaks TLS: connect with TLS (campbus connect --tls)"))
	_ = nc.SetDeadline(time.Now().Add(plainReplyTime))
	if _, err := nc.Write(wire.AppendResponse(nil, http.StatusBadRequest, "", body)); err != nil {
		return
	}
	if tcp, ok := nc.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(nc, 64<<10))
}
