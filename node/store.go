package node

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
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
	free, err = bus.FreeBytes(opts.DataDir)
	if err != nil {
		return 0, fmt.Errorf("node: %w", err)
	}
	if opts.Log.MaxStore <= 0 {
		opts.Log.MaxStore = (free + dirBytes(opts.DataDir)) / bus.DefaultStoreShare
	}
	if opts.Log.MaxStore < bus.MinMaxStore {
		return free, fmt.Errorf("node: the event log needs a budget of at least %d bytes and has %d: "+
			"--data-dir %s has %d bytes free; give --max-store %d or more, on a --data-dir with room for it",
			bus.MinMaxStore, opts.Log.MaxStore, opts.DataDir, free, bus.MinMaxStore)
	}
	return free, nil
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
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !n.bus.Server().JetStreamEnabled() {
			free, err := bus.FreeBytes(n.opts.DataDir)
			if err == nil && free >= 2*handlers.DiskLowWater {
				n.log.Warn("JetStream stopped; restarting it", "diskFree", free)
				if err := n.bus.RestartJetStream(); err != nil {
					n.log.Error("restart JetStream", "err", err)
				}
			}
		}
		step, cancel := context.WithTimeout(ctx, interval)
		_, err := n.handlers.CheckStore(step)
		cancel()
		if err != nil && ctx.Err() == nil {
			n.log.Debug("store check", "err", err)
		}
	}
}
