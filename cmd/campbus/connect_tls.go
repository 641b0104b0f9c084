package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/tlsconf"
)

// connectTLS are connect's --tls and --ca.
type connectTLS struct {
	on bool
	ca string // PEM file of the CAs trusted instead of the system's
}

// clientOptions returns the option that makes client.Dial speak TLS, none
// without --tls.
func (c connectTLS) clientOptions() ([]client.Option, error) {
	if !c.on {
		if c.ca != "" {
			return nil, errors.New("connect: --ca checks a TLS server's certificate: add --tls")
		}
		return nil, nil
	}
	config := &tls.Config{MinVersion: tlsconf.MinVersion}
	if c.ca != "" {
		pool, err := tlsconf.LoadCA(c.ca)
		if err != nil {
			return nil, fmt.Errorf("connect: --ca: %w", err)
		}
		config.RootCAs = pool
	}
	return []client.Option{client.WithTLS(config)}, nil
}

// tlsDialError says what to do about a TLS handshake that failed, or
// returns nil when err is not one.
func tlsDialError(err error, addr string) error {
	var (
		notTLS    tls.RecordHeaderError
		unknownCA x509.UnknownAuthorityError
		otherName x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	var sentence string
	switch {
	case errors.As(err, &notTLS):
		sentence = fmt.Sprintf("the server at %s does not speak TLS: connect without --tls", addr)
	case errors.As(err, &unknownCA):
		sentence = fmt.Sprintf("the certificate of %s is not signed by a CA this client trusts: name the camp's CA with --ca FILE", addr)
	case errors.As(err, &otherName):
		sentence = fmt.Sprintf("the certificate of %s is for another name (%v): connect to a name it is for with --addr", addr, otherName)
	case errors.As(err, &invalid):
		sentence = fmt.Sprintf("the certificate of %s cannot be used: %v", addr, invalid)
	default:
		return nil
	}
	return &dialError{sentence, err}
}
