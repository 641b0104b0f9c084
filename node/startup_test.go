package node

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/campbus/campbus/internal/camptest"
)

func TestAFailedStartNamesTheFlagAndStopsWhatItStarted(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	busy := taken.Addr().String()
	file := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	ca := camptest.NewCA(t)
	cert, key := ca.WriteKeyPair(t, t.TempDir(), "good")
	otherCert, _ := ca.WriteKeyPair(t, t.TempDir(), "other")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	cluster := func(cert, key, caFile string) Options {
		return Options{Name: "n1", ClusterAddr: "127.0.0.1:0", ClusterTLSCert: cert, ClusterTLSKey: key, ClusterTLSCA: caFile}
	}

	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"the campers' address is taken", Options{Addr: busy}, "campers' address (--addr) " + busy + ": bind: address already in use"},
		{"the NATS address is taken", Options{NATSAddr: busy}, "NATS address (--nats-addr) " + busy + ": bind: address already in use"},
		{"the monitoring address is taken", Options{MonitorAddr: busy}, "monitoring address (--monitor-addr) " + busy + ": bind: address already in use"},
		{"the cluster address is taken", Options{Name: "n1", ClusterAddr: busy}, "cluster address (--cluster-addr) " + busy + ": bind: address already in use"},
		{"the data directory cannot be made", Options{DataDir: filepath.Join(file, "data")}, "data directory (--data-dir) " + filepath.Join(file, "data")},
		{"the TLS certificate is not one", Options{TLSCert: file, TLSKey: key}, "TLS certificate (--tls-cert) " + file + ": no PEM certificate in it"},
		{"the TLS key is missing", Options{TLSCert: cert, TLSKey: missing}, "TLS key (--tls-key) " + missing + ": open " + missing},
		{"the TLS key is another certificate's", Options{TLSCert: otherCert, TLSKey: key}, "TLS key (--tls-key) " + key + ": tls: private key does not match public key"},
		{"a TLS certificate without its key", Options{TLSCert: cert}, "--tls-cert and --tls-key go together"},
		{"the cluster's CA is not one", cluster(cert, key, file), "cluster TLS CA (--cluster-tls-ca) " + file + ": no PEM certificate in it"},
		{"the cluster's key is missing", cluster(cert, missing, file), "cluster TLS key (--cluster-tls-key) " + missing},
		{"a cluster certificate without a CA", cluster(cert, key, ""), "--cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca go together"},
		{"a cluster secret without a cluster", Options{ClusterSecret: "s3cret"}, "need --cluster-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			if tc.opts.Addr == "" {
				tc.opts.Addr = "127.0.0.1:0"
			}
			if tc.opts.DataDir == "" {
				tc.opts.DataDir = t.TempDir()
			}
			tc.opts.Logger = quietLogger()
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			n, err := Start(ctx, tc.opts)
			require.Error(t, err)
			assert.Nil(t, n)
			assert.Contains(t, err.Error(), tc.want)
			goleak.VerifyNone(t, ignore)
		})
	}
}
