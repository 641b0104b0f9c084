package tlsconf

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus/internal/camptest"
)

func servedName(t *testing.T, kp *KeyPair) string {
	t.Helper()
	cert, err := kp.GetCertificate(nil)
	require.NoError(t, err)
	return cert.Leaf.Subject.CommonName
}

func TestAKeyPairIsReadAgainWhenItsFilesChangeAndABadOneIsNotServed(t *testing.T) {
	ca, dir := camptest.NewCA(t), t.TempDir()
	certFile, keyFile := ca.WriteKeyPair(t, dir, "first")
	var log bytes.Buffer // written by the test's own calls only
	kp, err := LoadKeyPair(certFile, keyFile, slog.New(slog.NewTextHandler(&log, nil)))
	require.NoError(t, err)
	assert.Equal(t, "first", servedName(t, kp))
	setInterval := func(d time.Duration) {
		kp.mu.Lock()
		defer kp.mu.Unlock()
		kp.interval = d
	}

	setInterval(time.Hour)
	ca.WriteKeyPair(t, dir, "second")
	assert.Equal(t, "first", servedName(t, kp), "the files are not looked at before the interval is up")
	setInterval(0)
	assert.Equal(t, "second", servedName(t, kp))

	// A certificate being written, then a key that is not its own yet.
	require.NoError(t, os.WriteFile(certFile, []byte("-----BEGIN CERT"), 0o600))
	assert.Equal(t, "second", servedName(t, kp))
	assert.Contains(t, log.String(), "keeping the last good one")
	third, _ := ca.Issue(t, "third")
	require.NoError(t, os.WriteFile(certFile, third, 0o600))
	assert.Equal(t, "second", servedName(t, kp))
	assert.Contains(t, log.String(), "private key does not match public key")

	ca.WriteKeyPair(t, dir, "fourth")
	assert.Equal(t, "fourth", servedName(t, kp))
}

func TestAFileThatCannotBeUsedIsNamed(t *testing.T) {
	ca, dir := camptest.NewCA(t), t.TempDir()
	certFile, keyFile := ca.WriteKeyPair(t, dir, "good")
	otherCert, _ := ca.WriteKeyPair(t, t.TempDir(), "other")
	garbage := filepath.Join(dir, "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("not a certificate"), 0o600))
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		name       string
		cert, key  string
		kind       FileKind
		path, want string
	}{
		{"a missing certificate", missing, keyFile, CertFile, missing, "no such file"},
		{"a certificate that is not PEM", garbage, keyFile, CertFile, garbage, "no PEM certificate"},
		{"a key given as the certificate", keyFile, keyFile, CertFile, keyFile, "no PEM certificate"},
		{"a missing key", certFile, missing, KeyFile, missing, "no such file"},
		{"a key that is not PEM", certFile, garbage, KeyFile, garbage, "PEM"},
		{"another certificate's key", otherCert, keyFile, KeyFile, keyFile, "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadKeyPair(tc.cert, tc.key, slog.New(slog.DiscardHandler))
			var fe *FileError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.kind, fe.Kind)
			assert.Equal(t, tc.path, fe.Path)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("a CA file that holds no certificate", func(t *testing.T) {
		_, err := LoadCA(garbage)
		var fe *FileError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, CAFile, fe.Kind)
	})
}

// handshakeError runs a server handshake against client and returns its error.
func handshakeError(t *testing.T, cfg *tls.Config, timeout time.Duration, client func(net.Conn)) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		client(c)
	}()
	raw, err := ln.Accept()
	require.NoError(t, err)
	defer func() { raw.Close(); <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return tls.Server(raw, cfg).HandshakeContext(ctx)
}

func TestHandshakeFailuresAreClassified(t *testing.T) {
	ca := camptest.NewCA(t)
	certFile, keyFile := ca.WriteKeyPair(t, t.TempDir(), "server")
	kp, err := LoadKeyPair(certFile, keyFile, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	cfg := Server(kp)
	tlsClient := func(c *tls.Config) func(net.Conn) {
		return func(conn net.Conn) { _ = tls.Client(conn, c).Handshake() }
	}
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		client  func(net.Conn)
		want    FailureReason
	}{
		{"a plain campbus request", time.Second, func(c net.Conn) {
			_, _ = io.WriteString(c, "POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"campId\":\"J004\"}")
			_, _ = io.Copy(io.Discard, c)
		}, NotTLS},
		{"a client that does not trust the certificate", time.Second,
			tlsClient(&tls.Config{ServerName: "localhost"}), BadCertificate},
		{"a client of another name", time.Second,
			tlsClient(&tls.Config{ServerName: "camp.example", RootCAs: ca.Pool()}), BadCertificate},
		{"a client of TLS 1.1", time.Second,
			tlsClient(&tls.Config{ServerName: "localhost", RootCAs: ca.Pool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}), Version},
		{"a client that says nothing", 50 * time.Millisecond, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }, Timeout},
		{"a client that hangs up", time.Second, func(net.Conn) {}, Other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := handshakeError(t, cfg, tc.timeout, tc.client)
			require.Error(t, err)
			assert.Equal(t, tc.want, Classify(err), "error %v", err)
		})
	}
	t.Run("net/http's words for a plain HTTP request", func(t *testing.T) {
		assert.Equal(t, NotTLS, ClassifyText("client sent an HTTP request to an HTTPS server"))
		assert.Equal(t, Timeout, ClassifyText("read tcp 127.0.0.1:8080->127.0.0.1:5000: i/o timeout"))
	})
	t.Run("every reason is in the list", func(t *testing.T) {
		for _, r := range []FailureReason{NotTLS, BadCertificate, Version, Timeout, Other} {
			assert.True(t, slices.Contains(FailureReasons, r), "%s", r)
		}
	})
}
