package main

import (
	"bytes"
	"context"
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
