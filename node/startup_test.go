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
)

func TestAFailedStartNamesTheFlagAndStopsWhatItStarted(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	busy := taken.Addr().String()
	file := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))

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
