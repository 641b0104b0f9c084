package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lockFileName is the file inside --data-dir that its owner holds an OS
// lock on (flock) for as long as it runs, and in which it writes who it is.
const lockFileName = ".campbus.lock"

// errDirLocked is what lockFile returns when another process, or another
// node of this one, holds the lock.
var errDirLocked = errors.New("locked")

// lockOwner is what the owner of a data dir writes into its lock file, for
// the sentence that refuses a second one.
type lockOwner struct {
	PID   int       `json:"pid"`
	Node  string    `json:"node"`
	Since time.Time `json:"since"`
}

// dirLock holds a data directory for one node. The lock is the kernel's:
// it dies with the process, so a lock file left by a kill -9 holds nothing.
type dirLock struct {
	f *os.File
}

// lockDataDir creates dir if missing and takes its lock for node, before
// anything else in the dir is opened. A dir another owner holds is left as
// it is, and the error names that owner.
func lockDataDir(dir, node string) (*dirLock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory (--data-dir) %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockFileName)
	// O_CREATE without O_TRUNC: opening changes nothing of an owner's file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("data directory (--data-dir) %s is not writable: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errDirLocked) {
			return nil, inUse(dir, path)
		}
		return nil, fmt.Errorf("data directory (--data-dir) %s: lock %s: %w", dir, path, err)
	}
	b, _ := json.Marshal(lockOwner{PID: os.Getpid(), Node: node, Since: time.Now().UTC().Truncate(time.Second)})
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory (--data-dir) %s is not writable: %w", dir, err)
	}
	return &dirLock{f: f}, nil
}

// inUse is the sentence that refuses a data dir held by another owner,
// naming it as its lock file says (an owner that has just taken the lock
// may not have written it yet).
func inUse(dir, path string) error {
	var o lockOwner
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &o) != nil || o.PID == 0 {
		return fmt.Errorf("data dir %s is in use by another campbus; stop it first or choose another --data-dir", dir)
	}
	return fmt.Errorf("data dir %s is in use by another campbus (pid %d, node %s, since %s); stop it first or choose another --data-dir",
		dir, o.PID, o.Node, o.Since.UTC().Format(time.RFC3339))
}

// release empties the lock file and lets the lock go; a second call does
// nothing.
func (l *dirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = l.f.Close() // closing the file releases the lock
	l.f = nil
}
