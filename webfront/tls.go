package webfront

import (
	"log/slog"
	"strings"

	"github.com/campbus/campbus/tlsconf"
)

// handshakeErrorPrefix starts net/http's log line for a failed TLS
// handshake: "http: TLS handshake error from 127.0.0.1:5000: <why>".
const handshakeErrorPrefix = "http: TLS handshake error from "

// errorLog is the HTTP server's error log. net/http tells of a failed TLS
// handshake there and nowhere else, so errorLog counts those lines, by
// reason, and passes the rest on as warnings.
type errorLog struct {
	log    *slog.Logger
	failed func(tlsconf.FailureReason) // nil: not counted
}

// Write takes one line (log.Logger writes each line with one call).
func (e *errorLog) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	rest, ok := strings.CutPrefix(line, handshakeErrorPrefix)
	if !ok {
		e.log.Warn(line)
		return len(p), nil
	}
	remote, why, _ := strings.Cut(rest, ": ")
	reason := tlsconf.ClassifyText(why)
	if e.failed != nil {
		e.failed(reason)
	}
	e.log.Info("TLS handshake failed", "remote", remote, "reason", reason, "err", why)
	return len(p), nil
}
