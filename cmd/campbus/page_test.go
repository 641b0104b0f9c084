package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPageConnectionLogicInNode runs the tests of the page's logic
// (webfront/jstest) with Node's own test runner: of connection.js, the
// nodes it goes round, the socket addresses it makes of the camp's web
// addresses, and the requests it sends again while the camp elects a
// leader; of i18n.js, that every key is in both languages and every error
// code has a sentence. Without node on PATH it is skipped, but in CI.
func TestPageConnectionLogicInNode(t *testing.T) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no node on PATH: CI must install it (apt-get install nodejs)")
		}
		t.Skip("no node on PATH: the page's logic tests need Node.js 20 or later")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "webfront", "jstest"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, nodeBin, "--test", dir).CombinedOutput()
	require.NoError(t, err, "node --test %s:\n%s", dir, out)
	t.Logf("node --test:\n%s", out)
}
