package handlers

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/nats-io/nats.go"

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

// storeState is the node's view of the event log's room, measured by
// CheckStore and read by every handler that adds to the log.
type storeState struct {
	mu     sync.Mutex
	usage  StoreUsage
	budget bus.Budget // the streams' shares of the budget
	// groupsBytes is GROUPS's bytes as last measured plus the group events
	// appended since; written is every byte appended since (to GROUPS or
	// DIRECTS), taken from the free disk last measured; inflight is what
	// the writes let through and not yet done may add. So a burst of writes
	// between two looks cannot eat the headroom of the checkouts, nor the
	// disk.
	groupsBytes, written, inflight int64
	// otherBytes is what DIRECTS and the campers bucket held at the last look.
	otherBytes int64
	// fault, when set, makes the log full whatever the measures say.
	fault string
}

func (st *storeState) get() StoreUsage {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.usage
}

func (st *storeState) shares() bus.Budget {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.budget
}

// eventBytes is a generous guess at what an event adds to its stream beside
// the text it carries: the event's other fields, a group's state in a
// header, the subject and the store's own framing.
const eventBytes = 512

// reservation is the outcome of storeState.reserve.
type reservation int

const (
	reserved     reservation = iota
	refused                  // the log is full
	measureFirst             // the estimate says full: measure, then ask again
)

// reserve counts n more bytes in flight (to GROUPS if group), unless that
// takes GROUPS past its high-water mark or the disk under DiskLowWater. The
// estimate counts every event appended since the last look, though a group
// at its --log-group-events drops one as it gets one: past a mark it asks
// for a measure first (fresh false), and only a measure past it makes the
// log full (entered tells the caller that did it, to log it once).
func (st *storeState) reserve(n int64, group, fresh bool) (res reservation, u StoreUsage, entered bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.usage.Full {
		return refused, st.usage, false
	}
	used, limit := st.groupsBytes, st.budget.Groups
	if group {
		used += st.inflight + n
	}
	diskLeft := st.usage.DiskFree - st.written - st.inflight - n
	groupsFull := limit > 0 && used*100 >= limit*bus.GroupsHighWater
	diskFull := st.usage.DiskFree >= 0 && diskLeft < DiskLowWater
	if groupsFull || diskFull {
		if !fresh {
			return measureFirst, st.usage, false
		}
		st.usage.Full, st.usage.Bytes = true, st.otherBytes+used
		if diskFull {
			st.usage.Reason = fmt.Sprintf("the disk would have %d bytes free", diskLeft)
		} else {
			st.usage.Reason = fmt.Sprintf("group events would use %d of their %d bytes", used, limit)
		}
		return refused, st.usage, true
	}
	st.inflight += n
	return reserved, st.usage, false
}

// measured replaces the estimates with measures: GROUPS's bytes and the free
// disk (-1: unknown).
func (st *storeState) measured(groupsBytes, diskFree int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.groupsBytes, st.usage.DiskFree, st.written = groupsBytes, diskFree, 0
}

func (st *storeState) release(n int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.inflight -= n
}

// appended counts n bytes stored since the last look (in GROUPS if group).
func (st *storeState) appended(n int64, group bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if group {
		st.groupsBytes += n
	}
	st.written += n
}

// storedSize is about what m takes in a file stream: subject, headers,
// data, JetStream's framing and the headers the publish adds (expected
// sequence, message id).
func storedSize(m *nats.Msg) int64 {
	n := len(m.Subject) + len(m.Data) + len("NATS/1.0\r\n\r\n") + 128
	for k, vs := range m.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return int64(n)
}

// SetStoreFault makes the next CheckStore find the log full for reason,
// whatever the measures say ("" clears it): the node knows of a fault that
// refuses writes (a stream that failed a write to disk), and it is better
// answered at once with 507 than after a request's timeout.
func (s *Service) SetStoreFault(reason string) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.fault = reason
}

// StoreUsage returns what the last CheckStore found.
func (s *Service) StoreUsage() StoreUsage { return s.store.get() }

// roomToGrow refuses, with 507 storage-full, a write that would add about
// size bytes to the log (to the group events if group) while the log is
// full or would become so. Call done once the write is over. The writes
// that end things (checkout, complete) never ask: the headroom above the
// high-water mark is theirs.
func (s *Service) roomToGrow(ctx context.Context, command string, size int, group bool) (done func(), err error) {
	n := int64(size)
	res, u, entered := s.store.reserve(n, group, false)
	if res == measureFirst {
		// One measure at a time: near a mark, requests wait their turn
		// rather than all asking JetStream at once.
		s.measureMu.Lock()
		if info, err := s.groups.Info(ctx); err == nil {
			s.store.measured(int64(info.State.Bytes), s.diskFree())
		}
		res, u, entered = s.store.reserve(n, group, true)
		s.measureMu.Unlock()
	}
	if entered {
		s.logFull(u)
	}
	if res != reserved {
		return nil, storageFull(command, u.Reason)
	}
	return func() { s.store.release(n) }, nil
}

// diskFree is the free space of the data dir's filesystem (-1: unknown).
func (s *Service) diskFree() int64 {
	if s.opts.DataDir == "" {
		return -1
	}
	free, err := bus.FreeBytes(s.opts.DataDir)
	if err != nil {
		return -1
	}
	return free
}

func (s *Service) logFull(u StoreUsage) {
	s.log.Warn("event log full: refusing checkin, message, direct and peersession with 507 until there is room",
		"reason", u.Reason, "bytes", u.Bytes, "budget", u.Budget, "diskFree", u.DiskFree)
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

func storageFull(command, reason string) *campbus.Error {
	return campbus.Errorf(http.StatusInsufficientStorage, campbus.CodeStorageFull,
		"the server's event log is full (%s): nothing of this %s was stored or delivered; mission and history still work", reason, command)
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
	b := s.store.shares()
	u := StoreUsage{
		Bytes:    int64(gi.State.Bytes + di.State.Bytes + cs.Bytes()),
		Budget:   b.Total,
		DiskFree: s.diskFree(),
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	was := s.store.usage
	// Past the high-water mark a log becomes full; a full one stays full
	// until below the low-water mark.
	mark, diskMark := int64(bus.GroupsHighWater), int64(DiskLowWater)
	if was.Full {
		mark, diskMark = bus.StoreLowWater, 2*DiskLowWater
	}
	over := func(used, limit int64) bool { return limit > 0 && used*100 >= limit*mark }
	switch {
	case s.store.fault != "":
		u.Full, u.Reason = true, s.store.fault
	case u.DiskFree >= 0 && u.DiskFree < diskMark:
		u.Full, u.Reason = true, fmt.Sprintf("the disk of %s has %d bytes free", s.opts.DataDir, u.DiskFree)
	case over(int64(gi.State.Bytes), b.Groups):
		u.Full, u.Reason = true, fmt.Sprintf("group events use %d of their %d bytes", gi.State.Bytes, b.Groups)
	case over(int64(cs.Bytes()), b.Campers):
		u.Full, u.Reason = true, fmt.Sprintf("the campers bucket uses %d of its %d bytes", cs.Bytes(), b.Campers)
	}
	s.store.usage, s.store.groupsBytes, s.store.written = u, int64(gi.State.Bytes), 0
	s.store.otherBytes = int64(di.State.Bytes + cs.Bytes())
	switch {
	case u.Full && !was.Full:
		s.logFull(u)
	case !u.Full && was.Full:
		s.log.Info("event log has room again: accepting every write",
			"bytes", u.Bytes, "budget", u.Budget, "diskFree", u.DiskFree)
	}
	return u, nil
}
