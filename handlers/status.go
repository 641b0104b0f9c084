package handlers

import (
	"context"
	"fmt"
)

// GroupCounts returns how many groups have members and how many run a peer
// session, as this node's view has them.
func (s *Service) GroupCounts() (groups, sessions int) { return s.seats.counts() }

// CheckedIn returns how many campers are checked in, camp-wide.
func (s *Service) CheckedIn(ctx context.Context) (int, error) {
	st, err := s.campers.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("campers: %w", err)
	}
	return int(st.Values()), nil
}

// Ready checks that JetStream answers: the campers bucket is reachable.
func (s *Service) Ready(ctx context.Context) error {
	_, err := s.CheckedIn(ctx)
	return err
}
