package handlers

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// DiskLowWater is the free space, in bytes, under which the data dir's
// filesystem counts as full whatever the budget says: JetStream must never
// meet a real "no space left on device", which stops a stream's writes until
// JetStream reopens it. DiskLowWater*2 free counts as room again.
const DiskLowWater = 1 << 20

// StoreUsage is what the last look at the event log found.
type StoreUsage struct {
	// Bytes is the bytes held by the file streams and buckets; Budget is
	// the budget they share (0: none).
	Bytes, Budget int64
	// DiskFree is the free space of the data dir's filesystem (-1: unknown).
	DiskFree int64
	// Full is true while the node refuses the writes that add to the log;
	// Reason says why, for a person.
	Full   bool
	Reason string
}

// storeState is the node's view of the event log's room, written by
// CheckStore and read by every handler that adds to the log.
type storeState struct {
	mu     sync.Mutex
	usage  StoreUsage
	budget bus.Budget // the streams' shares of the budget
}

func (st *storeState) shares() bus.Budget {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.budget
}

func (st *storeState) get() StoreUsage {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.usage
}

func (st *storeState) set(u StoreUsage) (was StoreUsage) {
	st.mu.Lock()
	defer st.mu.Unlock()
	was, st.usage = st.usage, u
	return was
}

// Resize gives the streams and buckets their shares of a new budget,
// so.MaxStore: the bus must allow it first (bus.Bus.SetMaxStore). The next
// CheckStore measures against the new shares.
func (s *Service) Resize(ctx context.Context, so bus.StreamOptions) error {
	st, err := bus.EnsureStreams(ctx, s.js, so)
	if err != nil {
		return fmt.Errorf("resize the event log: %w", err)
	}
	s.store.mu.Lock()
	s.store.budget = st.Budget
	s.store.mu.Unlock()
	return nil
}

// StoreUsage returns what the last CheckStore found.
func (s *Service) StoreUsage() StoreUsage { return s.store.get() }

// roomToGrow refuses, with 507 storage-full, a write that would add to the
// event log while the log is full. The writes that end things (checkout,
// complete) never ask: the headroom above the high-water mark is theirs.
func (s *Service) roomToGrow(command string) error {
	u := s.store.get()
	if !u.Full {
		return nil
	}
	return storageFull(command, u.Reason)
}

func storageFull(command, reason string) *campbus.Error {
	return campbus.Errorf(http.StatusInsufficientStorage, campbus.CodeStorageFull,
		"the server's event log is full (%s): the %s was not stored and went to nobody; mission and history still work", reason, command)
}

// CheckStore looks at the bytes of the streams and buckets and at the free
// disk, decides whether the log is full, and logs once when it becomes full
// and once when it has room again. Call it every second or so.
//
// The log is full when GROUPS or the campers bucket holds GroupsHighWater
// percent of its share of the budget, or the disk has under DiskLowWater
// free; it has room again below StoreLowWater percent (and twice
// DiskLowWater free).
func (s *Service) CheckStore(ctx context.Context) (StoreUsage, error) {
	gi, err := s.groups.Info(ctx)
	if err != nil {
		return StoreUsage{}, fmt.Errorf("store: %s: %w", bus.GroupsStream, err)
	}
	di, err := s.directs.Info(ctx)
	if err != nil {
		return StoreUsage{}, fmt.Errorf("store: %s: %w", bus.DirectsStream, err)
	}
	cs, err := s.campers.Status(ctx)
	if err != nil {
		return StoreUsage{}, fmt.Errorf("store: %s: %w", bus.CampersBucket, err)
	}
	was := s.store.get()
	b := s.store.shares()
	u := StoreUsage{
		Bytes:    int64(gi.State.Bytes + di.State.Bytes + cs.Bytes()),
		Budget:   b.Total,
		DiskFree: -1,
	}
	if s.opts.DataDir != "" {
		if free, err := bus.FreeBytes(s.opts.DataDir); err == nil {
			u.DiskFree = free
		}
	}
	// Past the high-water mark a log becomes full; a full one stays full
	// until below the low-water mark.
	mark, diskMark := int64(bus.GroupsHighWater), int64(DiskLowWater)
	if was.Full {
		mark, diskMark = bus.StoreLowWater, 2*DiskLowWater
	}
	over := func(used, limit int64) bool { return limit > 0 && used*100 >= limit*mark }
	switch {
	case u.DiskFree >= 0 && u.DiskFree < diskMark:
		u.Full, u.Reason = true, fmt.Sprintf("the disk of %s has %d bytes free", s.opts.DataDir, u.DiskFree)
	case over(int64(gi.State.Bytes), b.Groups):
		u.Full, u.Reason = true, fmt.Sprintf("group events use %d of their %d bytes", gi.State.Bytes, b.Groups)
	case over(int64(cs.Bytes()), b.Campers):
		u.Full, u.Reason = true, fmt.Sprintf("the campers bucket uses %d of its %d bytes", cs.Bytes(), b.Campers)
	}
	s.store.set(u)
	switch {
	case u.Full && !was.Full:
		s.log.Warn("event log full: refusing checkin, message, direct and peersession with 507 until there is room",
			"reason", u.Reason, "bytes", u.Bytes, "budget", u.Budget, "diskFree", u.DiskFree)
	case !u.Full && was.Full:
		s.log.Info("event log has room again: accepting every write",
			"bytes", u.Bytes, "budget", u.Budget, "diskFree", u.DiskFree)
	}
	return u, nil
}
