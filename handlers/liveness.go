package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// NodeOf returns the node a connection id belongs to ("n1" for "n1.42").
func NodeOf(conn string) string {
	if i := strings.LastIndexByte(conn, '.'); i > 0 {
		return conn[:i]
	}
	return ""
}

// Beat records that this node is alive: its key in the nodes bucket, which
// expires unless beaten again within the bucket's TTL.
func (s *Service) Beat(ctx context.Context) error {
	if _, err := s.nodes.Put(ctx, s.opts.NodeName, []byte(s.opts.Now().UTC().Format(time.RFC3339Nano))); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// AliveNodes returns the nodes whose heartbeat has not expired.
func (s *Service) AliveNodes(ctx context.Context) (map[string]bool, error) {
	lister, err := s.nodes.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	alive := map[string]bool{}
	for k := range lister.Keys() {
		alive[k] = true
	}
	return alive, nil
}

// SweepAtStart checks out the campers of this node's previous run and of
// nodes that are not alive. Call it after the first Beat, before accepting
// campers.
func (s *Service) SweepAtStart(ctx context.Context) (int, error) {
	alive, err := s.AliveNodes(ctx)
	if err != nil {
		return 0, err
	}
	me := s.opts.NodeName
	return s.Sweep(ctx, func(conn string) bool {
		n := NodeOf(conn)
		return n == me || !alive[n]
	})
}

// RunLiveness beats every interval until ctx ends, and sweeps the campers
// of any node whose heartbeat expired since the last look. Its last act is
// to remove this node's heartbeat.
func (s *Service) RunLiveness(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	known, _ := s.AliveNodes(ctx)
	me := s.opts.NodeName
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
			defer cancel()
			if err := s.nodes.Delete(dctx, s.opts.NodeName); err != nil {
				s.log.Warn("remove heartbeat", "err", err)
			}
			return
		case <-t.C:
		}
		step, cancel := context.WithTimeout(ctx, s.opts.Timeout)
		err := s.Beat(step)
		var alive map[string]bool
		if err == nil {
			alive, err = s.AliveNodes(step)
		}
		if err != nil || !alive[me] {
			// Without a sure view of the living, sweep nobody.
			s.log.Warn("liveness: no view of the live nodes this round", "err", err)
			cancel()
			continue
		}
		var gone []string
		for n := range known {
			if !alive[n] {
				gone = append(gone, n)
			}
		}
		if len(gone) == 0 {
			known = alive
			cancel()
			continue
		}
		s.log.Warn("nodes stopped beating; checking out their campers", "nodes", gone)
		n, err := s.Sweep(step, func(conn string) bool { return !alive[NodeOf(conn)] && NodeOf(conn) != me })
		if err != nil {
			// Keep the lost nodes in view: the next round tries again
			// (a cluster that just lost a node may be electing leaders).
			s.log.Error("sweep after node loss; trying again", "err", err)
			for _, g := range gone {
				alive[g] = true
			}
		} else {
			s.log.Info("swept campers of lost nodes", "nodes", gone, "checkedOut", n)
		}
		known = alive
		cancel()
	}
}
