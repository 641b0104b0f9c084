package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"os"
)

// MinVersion is the oldest TLS version campbus speaks, on every link.
const MinVersion = tls.VersionTLS12

// Server returns the configuration of a port that serves kp's certificate:
// TLS 1.2 or later, crypto/tls's defaults otherwise.
func Server(kp *KeyPair) *tls.Config {
	return &tls.Config{MinVersion: MinVersion, GetCertificate: kp.GetCertificate}
}

// Mutual returns the configuration of a link whose two ends both show kp's
// certificate and accept only a peer whose certificate the CA in caFile
// signed, whichever end dialled: the cluster's routes. Its error is a
// *FileError.
func Mutual(kp *KeyPair, caFile string) (*tls.Config, error) {
	pool, err := LoadCA(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:           MinVersion,
		GetCertificate:       kp.GetCertificate,
		GetClientCertificate: kp.GetClientCertificate,
		RootCAs:              pool,
		ClientCAs:            pool,
		ClientAuth:           tls.RequireAndVerifyClientCert,
	}, nil
}

// LoadCA reads the PEM certificates of caFile into a pool. Its error is a
// *FileError.
func LoadCA(caFile string) (*x509.CertPool, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, &FileError{CAFile, caFile, err}
	}
	certs, err := parseCertificates(data)
	if err != nil {
		return nil, &FileError{CAFile, caFile, err}
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}
