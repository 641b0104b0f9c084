package handlers

import (
	"context"
	"encoding/json"
	"errors"
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

// kvOperation is the header of a key-value bucket's delete and purge
// markers (it is not exported by the jetstream package).
const kvOperation = "KV-Operation"

// HolderFromLeader returns the connection that holds campID in the camp's
// state, and whether anyone holds it: nobody does once its checkout is
// under way (a sweep that checked out a node taken for lost, say, may
// still be between marking the record and deleting it). It is answered by
// the campers bucket's leader, which has every write acknowledged so far;
// a replica's copy may lag either way (see CampersLeaderInTouch).
func (s *Service) HolderFromLeader(ctx context.Context, campID string) (conn string, held bool, err error) {
	rec, _, found, err := s.camperFromLeader(ctx, campID)
	return rec.Conn, found && !rec.Leaving, err
}

// camperFromLeader reads campID's record and its revision from the campers
// bucket's leader; found is false when nobody holds the id (never checked
// in, or a delete or purge marker).
func (s *Service) camperFromLeader(ctx context.Context, campID string) (rec camperRecord, rev uint64, found bool, err error) {
	m, found, err := s.lastFromLeader(ctx, "KV_"+bus.CampersBucket, "$KV."+bus.CampersBucket+"."+campID)
	if err != nil {
		return rec, 0, false, fmt.Errorf("camper %s from the bucket's leader: %w", campID, err)
	}
	if !found || m.header.Get(kvOperation) != "" {
		return rec, 0, false, nil
	}
	if err := json.Unmarshal(m.data, &rec); err != nil {
		return rec, 0, false, fmt.Errorf("camper %s from the bucket's leader: %w", campID, err)
	}
	return rec, m.seq, true, nil
}

// CampersLeaderInTouch fails unless the campers bucket's leader, in its
// own answer, heard from a majority of the bucket's replicas (itself
// counted) within the last within. A node that led the bucket before a
// spell out of sight takes itself for the leader until it hears the one
// the others elected meanwhile, and answers reads from its stale copy; the
// others cannot elect one in less than a Raft election timeout (4 s in
// NATS), so a within below that tells the two apart.
func (s *Service) CampersLeaderInTouch(ctx context.Context, within time.Duration) error {
	stream, err := s.js.Stream(ctx, "KV_"+bus.CampersBucket)
	if err != nil {
		return fmt.Errorf("the campers bucket's leader: %w", err)
	}
	info := stream.CachedInfo() // answered by the leader just now
	if info.Cluster == nil {
		return nil // not clustered: this node's copy is the only one
	}
	if info.Cluster.Leader == "" {
		return errors.New("the campers bucket has no leader yet")
	}
	inTouch := 1 // the leader
	for _, r := range info.Cluster.Replicas {
		if r.Current && !r.Offline && r.Active < within {
			inTouch++
		}
	}
	if replicas := len(info.Cluster.Replicas) + 1; inTouch <= replicas/2 {
		return fmt.Errorf("the campers bucket's leader %s heard from %d of its %d replicas within %v",
			info.Cluster.Leader, inTouch, replicas, within)
	}
	return nil
}
