package node

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/campbus/campbus/monitor"
	"github.com/campbus/campbus/tlsconf"
)

// trust is the node's TLS, as its options ask: nil configurations where it
// is off.
type trust struct {
	// campers serves the campers' port and the web port.
	campers *tls.Config
	// routes serves the cluster's routes, both ways (mutual TLS).
	routes *tls.Config
}

// loadTrust reads the certificates the options name. An error names the
// flag behind the file at fault, or the flags that go together.
func loadTrust(opts Options) (trust, error) {
	var t trust
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return t, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	cluster := []string{opts.ClusterTLSCert, opts.ClusterTLSKey, opts.ClusterTLSCA}
	set := 0
	for _, f := range cluster {
		if f != "" {
			set++
		}
	}
	if set != 0 && set != len(cluster) {
		return t, errors.New("--cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca go together: give all three or none")
	}
	if (set != 0 || opts.ClusterSecret != "") && opts.ClusterAddr == "" {
		return t, errors.New("--cluster-secret and --cluster-tls-* are for a cluster: they need --cluster-addr")
	}
	if opts.TLSCert != "" {
		kp, err := tlsconf.LoadKeyPair(opts.TLSCert, opts.TLSKey, opts.Logger.With("tls", "campers"))
		if err != nil {
			return t, fileError("TLS", map[tlsconf.FileKind]string{tlsconf.CertFile: "--tls-cert", tlsconf.KeyFile: "--tls-key"}, err)
		}
		t.campers = tlsconf.Server(kp)
	}
	if set != 0 {
		flags := map[tlsconf.FileKind]string{tlsconf.CertFile: "--cluster-tls-cert", tlsconf.KeyFile: "--cluster-tls-key", tlsconf.CAFile: "--cluster-tls-ca"}
		kp, err := tlsconf.LoadKeyPair(opts.ClusterTLSCert, opts.ClusterTLSKey, opts.Logger.With("tls", "routes"))
		if err != nil {
			return t, fileError("cluster TLS", flags, err)
		}
		if t.routes, err = tlsconf.Mutual(kp, opts.ClusterTLSCA); err != nil {
			return t, fileError("cluster TLS", flags, err)
		}
	} else if opts.ClusterSecret != "" {
		opts.Logger.Warn("the cluster secret crosses the network in clear: add --cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca")
	}
	return t, nil
}

// fileError names the flag behind a file that cannot be used, as
// listenError does for an address.
func fileError(what string, flags map[tlsconf.FileKind]string, err error) error {
	var fe *tlsconf.FileError
	if !errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("%s %s (%s) %s: %w", what, fe.Kind, flags[fe.Kind], fe.Path, fe.Err)
}

// failures returns the counter of transport's failed handshakes, or nil
// when there are no metrics or no TLS.
func (t trust) failures(m *monitor.Metrics, transport string) func(tlsconf.FailureReason) {
	if m == nil || t.campers == nil {
		return nil
	}
	return m.HandshakeFailures(transport)
}
