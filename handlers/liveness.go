package handlers

import (
	"context"

	"github.com/campbus/campbus/bus"
)

// SweepAtStart checks out the campers left by this node's earlier runs:
// after a crash or a kill nobody is connected to them any more. Call it
// before accepting campers. The campers of other lost nodes are the
// liveness detector's business: it sweeps them once it has made sure.
func (s *Service) SweepAtStart(ctx context.Context, self bus.Instance) (int, error) {
	return s.Sweep(ctx, func(conn string) bool {
		in, ok := bus.InstanceOf(conn)
		return in.Node == self.Node && (!ok || in.Run != self.Run)
	})
}

// Holder returns the connection that holds campID in the camp's state, and
// whether anyone holds it.
func (s *Service) Holder(ctx context.Context, campID string) (conn string, held bool, err error) {
	h, held, err := s.holder(ctx, campID)
	return h.conn, held, err
}
