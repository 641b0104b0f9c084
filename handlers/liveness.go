package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/campbus/campbus/bus"
)

// SweepAtStart checks out the campers left by this node's earlier runs:
// after a crash or a kill nobody is connected to them any more. Call it
// before accepting campers. The campers of other lost nodes are the
// liveness detector's business: it sweeps them once it has made sure.
//
// A cluster that is just starting may leave a read unanswered (a stream
// still electing its leader, a consumer never created): each attempt is
// bounded by sweepAtStartTry and made again until ctx ends. A sweep is
// compare-and-set throughout, so an attempt cut short is safe to repeat.
func (s *Service) SweepAtStart(ctx context.Context, self bus.Instance) (int, error) {
	stale := func(conn string) bool {
		in, ok := bus.InstanceOf(conn)
		return in.Node == self.Node && (!ok || in.Run != self.Run)
	}
	total := 0
	for {
		try, cancel := context.WithTimeout(ctx, sweepAtStartTry)
		n, err := s.Sweep(try, stale)
		cancel()
		total += n
		if err == nil || ctx.Err() != nil {
			return total, err
		}
		s.log.Warn("sweep at start failed; trying again", "err", err)
		select {
		case <-ctx.Done():
			return total, err
		case <-time.After(sweepAtStartPause):
		}
	}
}

// sweepAtStartTry bounds one attempt of SweepAtStart; sweepAtStartPause
// separates two.
const (
	sweepAtStartTry   = 10 * time.Second
	sweepAtStartPause = time.Second
)

// Holder returns the connection that holds campID in the camp's state, and
// whether anyone holds it: nobody does once its checkout is under way (a
// sweep that checked out a node taken for lost, say, may still be between
// marking the record and deleting it). It reads the campers bucket as any
// replica has it, which is fast but may lag; see HolderFromLeader.
func (s *Service) Holder(ctx context.Context, campID string) (conn string, held bool, err error) {
	h, held, err := s.holder(ctx, campID)
	return h.conn, held && !h.leaving, err
}

// kvOperation is the header of a key-value bucket's delete and purge
// markers (it is not exported by the jetstream package).
const kvOperation = "KV-Operation"

// HolderFromLeader is Holder answered by the campers bucket's leader,
// which has every write acknowledged so far: what to believe before a
// connection is closed for a checkin no longer held (a replica that lags,
// on a loaded machine, may not have the checkin yet).
func (s *Service) HolderFromLeader(ctx context.Context, campID string) (conn string, held bool, err error) {
	m, found, err := s.lastFromLeader(ctx, "KV_"+bus.CampersBucket, "$KV."+bus.CampersBucket+"."+campID)
	if err != nil {
		return "", false, fmt.Errorf("camper %s from the bucket's leader: %w", campID, err)
	}
	if !found || m.header.Get(kvOperation) != "" {
		return "", false, nil // never held, or a delete or purge marker
	}
	var rec camperRecord
	if err := json.Unmarshal(m.data, &rec); err != nil {
		return "", false, fmt.Errorf("camper %s from the bucket's leader: %w", campID, err)
	}
	return rec.Conn, !rec.Leaving, nil
}
