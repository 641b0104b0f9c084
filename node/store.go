package node

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/handlers"
)

// DefaultStoreCheck is how often a node looks at how full its event log is.
const DefaultStoreCheck = time.Second

// resolveBudget gives opts.Log.MaxStore its default, 1/bus.DefaultStoreShare
// of the room the data dir has (its free space plus what the log already
// holds there), and refuses a budget under bus.MinMaxStore with an error
// that names the flags to change. It returns the free space it saw.
func resolveBudget(opts *Options) (free int64, err error) {
	if opts.freeBytes == nil {
		opts.freeBytes = bus.FreeBytes
	}
	free, err = opts.freeBytes(opts.DataDir)
	if err != nil {
		return 0, fmt.Errorf("node: %w", err)
	}
	if opts.Log.MaxStore <= 0 {
		opts.Log.MaxStore = defaultBudget(opts.DataDir, free)
	} else if room := free + dirBytes(opts.DataDir); opts.Log.MaxStore > room {
		opts.Logger.Warn("--max-store is more than --data-dir has room for: the disk will fill first, and writes get 507 when it is nearly full",
			"maxStore", opts.Log.MaxStore, "room", room)
	}
	if opts.Log.MaxStore < bus.MinMaxStore {
		return free, fmt.Errorf("node: the event log needs a budget of at least %d bytes and has %d: "+
			"--data-dir %s has %d bytes free; give --max-store %d or more, on a --data-dir with room for it",
			bus.MinMaxStore, opts.Log.MaxStore, opts.DataDir, free, bus.MinMaxStore)
	}
	return free, nil
}

// defaultBudget is 1/bus.DefaultStoreShare of the room for dir: the free
// space of its filesystem and what is in it already.
func defaultBudget(dir string, free int64) int64 {
	return (free + dirBytes(dir)) / bus.DefaultStoreShare
}

// budget is the node's disk budget as it may change while the node runs.
type budget struct {
	mu       sync.Mutex // serialises changes
	maxStore int64
	// followDisk: no --max-store was given, so the budget grows with the
	// room on the disk.
	followDisk bool
}

// SetMaxStore raises the event log's disk budget to maxStore bytes while
// the node runs: JetStream's limit first, then each stream's and bucket's
// share. A budget no larger than the current one changes nothing (JetStream
// cannot shrink its limit while it runs; restart with a smaller
// --max-store).
func (n *Node) SetMaxStore(ctx context.Context, maxStore int64) error {
	n.budget.mu.Lock()
	defer n.budget.mu.Unlock()
	if maxStore <= n.budget.maxStore {
		return nil
	}
	if err := n.bus.SetMaxStore(maxStore); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	so := n.opts.Log
	so.MaxStore = maxStore
	if err := n.handlers.Resize(ctx, so); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.log.Info("event log budget raised", "from", n.budget.maxStore, "to", maxStore)
	n.budget.maxStore = maxStore
	return nil
}

// followTheDisk raises a budget that was not given (--max-store 0) when
// the log is full and the disk has room for a larger one: after an
// operator freed space or grew the filesystem.
func (n *Node) followTheDisk() {
	if !n.budget.followDisk || !n.handlers.StoreUsage().Full {
		return
	}
	free, err := n.opts.freeBytes(n.opts.DataDir)
	if err != nil {
		return
	}
	n.budget.mu.Lock()
	current := n.budget.maxStore
	n.budget.mu.Unlock()
	// A tenth more at least, so that a few freed bytes do not reload
	// JetStream every second.
	if larger := defaultBudget(n.opts.DataDir, free); larger > current+current/10 {
		// Its own deadline: a reload and four stream updates may take
		// longer than a look on a busy machine.
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.SetMaxStore(rctx, larger); err != nil {
			n.log.Error("raise the event log budget to follow the disk", "err", err)
		}
	}
}

// reopenAfterAFailedWrite: a stream that failed a write to disk (no space
// left) refuses every write until JetStream reopens it. The log counts as
// full until then; JetStream is reopened as soon as the disk has room.
func (n *Node) reopenAfterAFailedWrite(ctx context.Context) {
	if !n.bus.WriteFailed() {
		return
	}
	n.handlers.SetStoreFault("a stream failed a write to disk; it takes writes again once the disk has room")
	free, err := n.opts.freeBytes(n.opts.DataDir)
	if err != nil || free < 2*handlers.DiskLowWater {
		return
	}
	n.log.Warn("reopening JetStream: a stream failed a write to disk, and the disk has room again", "diskFree", free)
	if err := n.bus.ReopenJetStream(); err != nil {
		n.log.Error("reopen JetStream", "err", err)
		return
	}
	n.ensureStreams(ctx)
	n.handlers.SetStoreFault("")
}

// ensureStreams checks the streams and buckets after JetStream restarted:
// they come back from the data dir, and this makes sure each is there, with
// its share of the budget.
func (n *Node) ensureStreams(ctx context.Context) {
	n.budget.mu.Lock()
	so := n.opts.Log
	so.MaxStore = n.budget.maxStore
	n.budget.mu.Unlock()
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.handlers.Resize(ectx, so); err != nil {
		n.log.Error("streams after JetStream restarted", "err", err)
	}
}

// dirBytes is the size of the files under dir (0 if it cannot be read).
func dirBytes(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // skip what cannot be read
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

// watchStore looks at the event log every interval until ctx ends: it
// restarts JetStream if JetStream stopped itself and the disk has room, then
// lets the handlers decide whether the log is full (they log the change).
func (n *Node) watchStore(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	stopped := false // JetStream was found stopped: log it once
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n.bus.Server().JetStreamEnabled() {
			if stopped {
				n.log.Info("JetStream runs again")
			}
			stopped = false
		} else {
			free, err := n.opts.freeBytes(n.opts.DataDir)
			if !stopped {
				n.log.Warn("JetStream stopped; restarting it once the disk has room", "diskFree", free)
			}
			stopped = true
			if err == nil && free >= 2*handlers.DiskLowWater {
				if err := n.bus.RestartJetStream(); err != nil {
					n.log.Debug("restart JetStream", "err", err)
				} else {
					n.ensureStreams(ctx)
				}
			}
		}
		n.reopenAfterAFailedWrite(ctx)
		step, cancel := context.WithTimeout(ctx, max(interval, time.Second))
		n.followTheDisk()
		_, err := n.handlers.CheckStore(step)
		cancel()
		if err != nil && ctx.Err() == nil {
			n.log.Debug("store check", "err", err)
		}
	}
}
