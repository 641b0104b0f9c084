package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeWithABudgetUnderTheMinimumExitsWithOneLineNamingTheFlags(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--max-store", "1000", "--data-dir", dir,
		"--addr", "127.0.0.1:0", "--nats-addr", "", "--monitor-addr", ""}, strings.NewReader(""), &stderr, &stderr)
	require.Error(t, err, "main prints it and exits 1")
	msg := err.Error()
	for _, want := range []string{"--max-store", "--data-dir " + dir, "bytes free", "has 1000"} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "\n")
	assert.Empty(t, stderr.String(), "the error is the only word")
}

func TestServeWithABadTLSFileExitsWithOneLineNamingTheFlag(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "cert.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"a certificate that is not one", nil, []string{"--tls-cert", notPEM, "--tls-key", notPEM},
			"TLS certificate (--tls-cert) " + notPEM + ": no PEM certificate in it"},
		{"a key without its certificate", nil, []string{"--tls-key", notPEM}, "--tls-cert and --tls-key go together"},
		{"a cluster secret from the environment, without a cluster", map[string]string{"CAMPBUS_CLUSTER_SECRET": "s3cret"}, nil,
			"--cluster-secret and --cluster-tls-* are for a cluster: they need --cluster-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stderr bytes.Buffer
			args := append([]string{"serve", "--data-dir", dir, "--addr", "127.0.0.1:0", "--nats-addr", "",
				"--monitor-addr", "", "--web-addr", ""}, tc.args...)
			err := run(context.Background(), args, strings.NewReader(""), &stderr, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "\n")
			assert.NotContains(t, err.Error()+stderr.String(), "s3cret")
		})
	}
}
