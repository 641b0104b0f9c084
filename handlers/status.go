package handlers

import (
	"context"
	"fmt"
)

// GroupCounts returns how many groups have members and how many run a peer
// session, as this node's view has them.
func (s *Service) GroupCounts() (groups, sessions int) { return s.seats.counts() }

// CheckedIn returns how many campers are checked in, camp-wide: the members
// of every group, as this node's view of the groups' logs has them (every
// node watches every group's events). A camper whose checkin is still
// finding a seat is not counted yet.
func (s *Service) CheckedIn(context.Context) (int, error) { return s.seats.seated(), nil }

// Ready checks that JetStream answers: the campers bucket is reachable.
func (s *Service) Ready(ctx context.Context) error {
	if _, err := s.campers.Status(ctx); err != nil {
		return fmt.Errorf("campers: %w", err)
	}
	return nil
}
