package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestASecondServeOnADataDirExitsNamingTheFirstAndAKilledOneLeavesItFree(t *testing.T) {
	bin := buildCampbus(t)
	dir := t.TempDir()
	first := startServe(t, bin, dir, "--node-name", "n1")

	var stderr bytes.Buffer
	second := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--nats-addr", "", "--monitor-addr", "", "--web-addr", "",
		"--data-dir", dir, "--node-name", "n2")
	second.Stderr = &stderr
	err := second.Run()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the second serve exits with a status: %v", err)
	assert.Equal(t, 1, exit.ExitCode())
	want := regexp.MustCompile(`^campbus: data dir ` + regexp.QuoteMeta(dir) +
		fmt.Sprintf(` is in use by another campbus \(pid %d, node n1, since `, first.cmd.Process.Pid) +
		`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\); stop it first or choose another --data-dir\n$`)
	assert.Regexp(t, want, stderr.String(), "one sentence, and nothing else")
	checkedInClient(t, first.addr, "J001") // the first serves on

	// kill -9 leaves the lock file behind, and no lock: a restart serves.
	require.NoError(t, first.cmd.Process.Kill())
	_ = first.cmd.Wait()
	again := startServe(t, bin, dir, "--node-name", "n1")
	checkedInClient(t, again.addr, "J002")
}
