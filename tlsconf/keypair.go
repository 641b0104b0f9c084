// Package tlsconf holds campbus's TLS: key pairs read from PEM files and read
// again when the files change (a renewed certificate needs no restart), the
// configurations of the campers' ports and of the cluster's routes, and why
// a handshake failed, as one short list of reasons.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CheckInterval is how often, at most, a KeyPair looks at its files.
const CheckInterval = time.Second

// FileKind names the role of a file in errors: "certificate", "key" or "CA".
type FileKind string

// The files a configuration reads.
const (
	CertFile FileKind = "certificate"
	KeyFile  FileKind = "key"
	CAFile   FileKind = "CA"
)

// FileError is a certificate, key or CA file that cannot be used.
type FileError struct {
	Kind FileKind
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s %s: %v", e.Kind, e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// KeyPair is a certificate and its private key, read from two PEM files and
// read again when either file changes (its size or modification time). It
// looks at the files at most once every CheckInterval, when a handshake asks
// for the certificate. A pair that cannot be used (a file half written, a key
// that does not match the certificate yet) is logged, and the last good one
// is served until the files change again.
type KeyPair struct {
	certFile, keyFile string
	log               *slog.Logger
	interval          time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate // the last good pair; mu must be held
	stamps  [2]stamp         // the files as last read; mu must be held
	checked time.Time        // when the files were last looked at; mu must be held
}

// stamp is what tells that a file changed.
type stamp struct {
	size    int64
	modTime time.Time
	missing bool
}

// LoadKeyPair reads the pair in certFile and keyFile. Its error is a
// *FileError naming the file at fault.
func LoadKeyPair(certFile, keyFile string, log *slog.Logger) (*KeyPair, error) {
	if log == nil {
		log = slog.Default()
	}
	kp := &KeyPair{certFile: certFile, keyFile: keyFile, log: log, interval: CheckInterval}
	kp.stamps = stampFiles(certFile, keyFile)
	cert, err := readPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	kp.cert, kp.checked = cert, time.Now()
	log.Info("TLS certificate loaded", "cert", certFile, "notAfter", cert.Leaf.NotAfter)
	return kp, nil
}

// GetCertificate serves the current pair to a handshake (tls.Config's
// GetCertificate).
func (kp *KeyPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return kp.current(), nil
}

// GetClientCertificate serves the current pair to a server that asks the
// dialling end for a certificate (mutual TLS).
func (kp *KeyPair) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return kp.current(), nil
}

func (kp *KeyPair) current() *tls.Certificate {
	kp.mu.Lock()
	defer kp.mu.Unlock()
	if now := time.Now(); now.Sub(kp.checked) >= kp.interval {
		kp.checked = now
		kp.refresh()
	}
	return kp.cert
}

// refresh reads the pair again if a file changed since it was last read.
// The files are looked at before they are read: a write that lands between
// the two changes them again, and the next look reads them again.
// mu must be held.
func (kp *KeyPair) refresh() {
	stamps := stampFiles(kp.certFile, kp.keyFile)
	if stamps == kp.stamps {
		return
	}
	kp.stamps = stamps
	cert, err := readPair(kp.certFile, kp.keyFile)
	if err != nil {
		kp.log.Warn("TLS key pair changed on disk but cannot be used; keeping the last good one",
			"err", err, "servedNotAfter", kp.cert.Leaf.NotAfter)
		return
	}
	kp.cert = cert
	kp.log.Info("TLS certificate reloaded", "cert", kp.certFile, "notAfter", cert.Leaf.NotAfter)
}

func stampFiles(certFile, keyFile string) [2]stamp {
	var out [2]stamp
	for i, name := range []string{certFile, keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			out[i] = stamp{missing: true}
			continue
		}
		out[i] = stamp{size: fi.Size(), modTime: fi.ModTime()}
	}
	return out
}

// readPair reads and checks a key pair, naming the file at fault.
func readPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, &FileError{CertFile, certFile, err}
	}
	certs, err := parseCertificates(certPEM)
	if err != nil {
		return nil, &FileError{CertFile, certFile, err}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, &FileError{KeyFile, keyFile, err}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &FileError{KeyFile, keyFile, err}
	}
	if cert.Leaf == nil { // set by X509KeyPair unless GODEBUG says otherwise
		cert.Leaf = certs[0]
	}
	return &cert, nil
}

// parseCertificates returns the certificates of PEM data, and fails when
// there is none or one cannot be parsed.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate in it")
	}
	return certs, nil
}
