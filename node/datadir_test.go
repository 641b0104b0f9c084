package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// dirState is what a refused node must leave as it was: the data dir's
// entries (a file made or removed there changes its mtime) and the lock
// file's content.
type dirState struct {
	names []string
	mtime time.Time
	lock  string
}

func stateOf(t *testing.T, dir string) dirState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var s dirState
	for _, e := range entries {
		s.names = append(s.names, e.Name())
	}
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	s.mtime = fi.ModTime()
	b, err := os.ReadFile(filepath.Join(dir, lockFileName))
	require.NoError(t, err)
	s.lock = string(b)
	return s
}

func TestASecondNodeOnADataDirIsRefusedAndTheFirstGoesOn(t *testing.T) {
	dir := t.TempDir()
	first := startNode(t, Options{Name: "n1", DataDir: dir})
	c := dial(t, first)
	c.checkin("J001")
	before := stateOf(t, dir)

	ignore := goleak.IgnoreCurrent()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	second, err := Start(ctx, Options{Name: "n2", Addr: "127.0.0.1:0", DataDir: dir, Logger: quietLogger()})
	require.Error(t, err)
	assert.Nil(t, second)
	want := regexp.MustCompile(`^data dir ` + regexp.QuoteMeta(dir) + fmt.Sprintf(` is in use by another campbus \(pid %d, node n1, since `, os.Getpid()) +
		`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\); stop it first or choose another --data-dir$`)
	assert.Regexp(t, want, err.Error())
	goleak.VerifyNone(t, ignore)
	assert.Equal(t, before, stateOf(t, dir), "the refused node touched nothing in the data dir")

	var m struct{ Keywords string }
	c.ok("mission", map[string]int{"day": 4}, &m)
	assert.NotEmpty(t, m.Keywords, "the first node still answers")

	sctx, scancel := context.WithTimeout(context.Background(), waitFor)
	defer scancel()
	require.NoError(t, first.Shutdown(sctx))
	third := startNode(t, Options{Name: "n3", DataDir: dir})
	var owner lockOwner
	require.NoError(t, json.Unmarshal([]byte(stateOf(t, dir).lock), &owner))
	assert.Equal(t, "n3", owner.Node, "the lock file names its new owner")
	assert.Equal(t, os.Getpid(), owner.PID)
	dial(t, third).checkin("J002")
}

func TestAFailedStartLetsTheDataDirGo(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	// The TLS files are read once the lock is held.
	_, err := Start(ctx, Options{Addr: "127.0.0.1:0", DataDir: dir, TLSCert: file, TLSKey: file, Logger: quietLogger()})
	require.ErrorContains(t, err, "--tls-cert")
	startNode(t, Options{DataDir: dir})
}

func TestALockFileLeftByAKilledOwnerHoldsNothing(t *testing.T) {
	dir := t.TempDir()
	stale, _ := json.Marshal(lockOwner{PID: 999999, Node: "gone", Since: time.Now().Add(-time.Hour)})
	require.NoError(t, os.WriteFile(filepath.Join(dir, lockFileName), stale, 0o640))
	l, err := lockDataDir(dir, "n1")
	require.NoError(t, err)
	defer l.release()
	var owner lockOwner
	require.NoError(t, json.Unmarshal([]byte(stateOf(t, dir).lock), &owner))
	assert.Equal(t, lockOwner{PID: os.Getpid(), Node: "n1", Since: owner.Since}, owner)

	_, err = lockDataDir(dir, "n2")
	require.ErrorContains(t, err, "node n1, since")
	l.release()
	l2, err := lockDataDir(dir, "n2")
	require.NoError(t, err, "a released lock is free again")
	l2.release()
}
