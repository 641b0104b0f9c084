package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
)

// FailureReason says why a TLS handshake failed: a label value of the
// metric campbus_tls_handshake_failures_total.
type FailureReason string

// Why handshakes fail.
const (
	// NotTLS: the client spoke something else (plain campbus frames, HTTP).
	NotTLS FailureReason = "not-tls"
	// BadCertificate: the client refused the server's certificate (unknown
	// authority, expired, another name).
	BadCertificate FailureReason = "bad-certificate"
	// Version: no TLS version in common (the client offers TLS 1.1 or older).
	Version FailureReason = "version"
	// Timeout: the handshake did not finish in time.
	Timeout FailureReason = "timeout"
	// Other: anything else, such as a client that hung up half way.
	Other FailureReason = "other"
)

// FailureReasons lists every reason; Classify returns nothing else.
var FailureReasons = []FailureReason{NotTLS, BadCertificate, Version, Timeout, Other}

// Classify returns why a handshake failed with err.
func Classify(err error) FailureReason {
	var header tls.RecordHeaderError
	var ne net.Error
	switch {
	case errors.As(err, &header) && header.Conn != nil:
		return NotTLS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Timeout
	}
	return ClassifyText(err.Error())
}

// ClassifyText is Classify for an error known by its text only, as net/http
// logs it. crypto/tls gives no type to an alert from the peer nor to a
// version refused, so Classify ends here too.
func ClassifyText(msg string) FailureReason {
	has := func(parts ...string) bool {
		for _, p := range parts {
			if strings.Contains(msg, p) {
				return true
			}
		}
		return false
	}
	switch {
	case has("does not look like a TLS handshake", "HTTP request to an HTTPS server"):
		return NotTLS
	case has("unsupported versions", "protocol version", "SSLv2"):
		return Version
	case has("remote error") && has("certificate"):
		return BadCertificate
	case has("timeout", "deadline exceeded"):
		return Timeout
	}
	return Other
}
