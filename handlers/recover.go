package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// leaderAsk bounds a sweep's questions to a stream's leader (the lists of
// campers and groups): a stream electing its leader after a node was lost
// answers nothing, and the sweep is tried again on the detector's next
// round rather than waiting, so the lost node's campIds are free soon
// after the election ends.
const leaderAsk = 750 * time.Millisecond

// Sweep checks out every camper held by a connection that stale says is
// gone: their groups get checkout events with reason disconnect, sessions
// they hosted end, their campIds are released. It also loads every group's
// state into the seat view. It is safe to run on several nodes at once:
// each step is a compare-and-set, and checking out a camper twice records
// nothing the second time.
//
// At start a node sweeps the connections of its previous runs (after a
// crash or kill nobody is connected any more); while it runs, its liveness
// detector sweeps those of the nodes it declares lost. Each camper is marked
// leaving, leaves its group, then is released, as in a checkout.
func (s *Service) Sweep(ctx context.Context, stale func(conn string) bool) (checkedOut int, err error) {
	holders, err := s.holders(ctx)
	if err != nil {
		return 0, err
	}
	ictx, cancel := context.WithTimeout(ctx, leaderAsk)
	defer cancel()
	ns, err := s.groupNumbers(ictx)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	for _, n := range ns {
		st, seq, err := s.loadGroup(ctx, n)
		if err != nil {
			return checkedOut, fmt.Errorf("sweep: %w", err)
		}
		s.seats.applyState(n, seq, st)
		for _, id := range st.Members {
			h, held := holders[id]
			if !held {
				// Not in the list read before the group: a checkin may have
				// claimed the id since (claims come before joins), so look
				// again before calling the member an orphan.
				h, held, err = s.holder(ctx, id)
				if err != nil {
					return checkedOut, err
				}
			}
			if held && !stale(h.conn) {
				continue
			}
			if held {
				// Leaving first: a checkin for the id waits for the
				// release instead of failing while the camper leaves.
				if h, held, err = s.markLeaving(ctx, id, h, stale); err != nil {
					return checkedOut, err
				}
				if held && !stale(h.conn) {
					continue
				}
			}
			if err := s.leave(ctx, n, id, campbus.ReasonDisconnect); err != nil {
				return checkedOut, fmt.Errorf("sweep: check out %s: %w", id, err)
			}
			if held {
				if err := s.release(ctx, id, h); err != nil {
					return checkedOut, err
				}
			}
			delete(holders, id)
			checkedOut++
		}
	}
	// Campers held by gone connections but seated in no group.
	for id, h := range holders {
		if stale(h.conn) {
			if err := s.release(ctx, id, h); err != nil {
				return checkedOut, err
			}
		}
	}
	return checkedOut, nil
}

// markLeaving marks id's record as leaving (compare-and-set on h's
// revision) and returns the holder as it then is. If the record changed
// meanwhile it is read again: held by a live connection now, it is left
// alone (held true, stale false for its conn).
func (s *Service) markLeaving(ctx context.Context, id string, h holder, stale func(string) bool) (holder, bool, error) {
	for tries := 0; tries < maxCommitTries; tries++ {
		e, err := s.campers.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return holder{}, false, nil
		}
		if err != nil {
			return h, true, fmt.Errorf("sweep: camper %s: %w", id, err)
		}
		var rec camperRecord
		_ = json.Unmarshal(e.Value(), &rec)
		h = holder{conn: rec.Conn, revision: e.Revision()}
		if !stale(h.conn) || rec.Leaving {
			return h, true, nil
		}
		rec.Leaving = true
		rev, err := s.campers.Update(ctx, id, mustJSON(rec), e.Revision())
		if err == nil {
			h.revision = rev
			return h, true, nil
		}
		if !bus.IsWrongLastSequence(err) {
			return h, true, fmt.Errorf("sweep: mark %s leaving: %w", id, err)
		}
	}
	return h, true, fmt.Errorf("sweep: mark %s leaving: too much contention", id)
}

// release deletes id's key if it is still at h's revision.
func (s *Service) release(ctx context.Context, id string, h holder) error {
	err := s.campers.Delete(ctx, id, jetstream.LastRevision(h.revision))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && !bus.IsWrongLastSequence(err) {
		return fmt.Errorf("sweep: release %s: %w", id, err)
	}
	return nil
}

type holder struct {
	conn     string
	revision uint64
	leaving  bool // its checkout is under way
}

// holders lists the campers bucket: campId -> the connection holding it.
func (s *Service) holders(ctx context.Context) (map[string]holder, error) {
	// The keys come from the bucket's stream info (its leader answers),
	// not from a key lister: a lister is a consumer, whose creation waits
	// for JetStream's meta leader, and a sweep must not wait for the meta
	// group's election when the lost node led it.
	out := map[string]holder{}
	ictx, cancel := context.WithTimeout(ctx, leaderAsk)
	defer cancel()
	stream, err := s.js.Stream(ictx, "KV_"+bus.CampersBucket)
	if err != nil {
		return nil, fmt.Errorf("sweep: list campers: %w", err)
	}
	prefix := "$KV." + bus.CampersBucket + "."
	info, err := stream.Info(ictx, jetstream.WithSubjectFilter(prefix+">"))
	if err != nil {
		return nil, fmt.Errorf("sweep: list campers: %w", err)
	}
	keys := make([]string, 0, len(info.State.Subjects))
	for subject := range info.State.Subjects {
		keys = append(keys, strings.TrimPrefix(subject, prefix))
	}
	// The stream info lists the released ids too (a delete leaves a
	// marker): every id ever checked in is read, holderReads at a time.
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan string)
	)
	for range min(holderReads, len(keys)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range next {
				h, held, err := s.holder(ctx, key)
				mu.Lock()
				switch {
				case err != nil && firstErr == nil:
					firstErr = err
				case err == nil && held:
					out[key] = h
				}
				mu.Unlock()
			}
		}()
	}
	for _, key := range keys {
		next <- key
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// holderReads is how many camper records a sweep reads at once.
const holderReads = 16

// holder reads who holds id.
func (s *Service) holder(ctx context.Context, id string) (holder, bool, error) {
	e, err := s.campers.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return holder{}, false, nil
	}
	if err != nil {
		return holder{}, false, fmt.Errorf("sweep: camper %s: %w", id, err)
	}
	var rec camperRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		s.log.Warn("sweep: unreadable camper record; counting it as stale", "campId", id, "err", err)
	}
	return holder{conn: rec.Conn, revision: e.Revision(), leaving: rec.Leaving}, true, nil
}
