package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// camperRecord is the value of a camper's key in the campers bucket.
type camperRecord struct {
	Conn      string `json:"conn"` // front-end connection holding the camper
	CheckinMs int64  `json:"checkinMs"`
}

// errGroupFull tells checkin to try the next group.
var errGroupFull = errors.New("group full")

// checkin handles POST /checkin {"campId":"J004"}.
//
// It claims the campId in the campers bucket (create fails if anyone holds
// it), then joins the lowest-numbered group with a free seat: the join is
// appended to the group's log only if the group is unchanged since it was
// read, so concurrent checkins never put a fifth camper in a group. The
// other members get a join event.
func (s *Service) checkin(ctx context.Context, r *request) (any, error) {
	f, err := decodeBody(r.body)
	if err != nil {
		return nil, err
	}
	id, err := f.campID(s.opts.CampIDs)
	if err != nil {
		return nil, err
	}
	rec, _ := json.Marshal(camperRecord{Conn: r.conn, CheckinMs: s.opts.Now().UnixMilli()})
	if _, err := s.campers.Create(ctx, id, rec); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return nil, campbus.Errorf(http.StatusConflict, campbus.CodeCampIDInUse,
				"camp id %s is already checked in on another connection", id)
		}
		return nil, fmt.Errorf("claim %s: %w", id, err)
	}
	n, st, err := s.join(ctx, id, r.conn)
	if err != nil {
		// Release the claim so that the camper can try again.
		if derr := s.campers.Delete(ctx, id); derr != nil {
			s.log.Error("release camp id after failed checkin", "campId", id, "err", derr)
		}
		return nil, err
	}
	r.header.Set(bus.HdrCampID, id)
	r.header.Set(bus.HdrGroup, strconv.Itoa(n))
	return campbus.CheckinResponse{CampID: id, Group: n, Members: st.Members}, nil
}

// join seats id in the lowest-numbered group with a free seat.
func (s *Service) join(ctx context.Context, id, conn string) (int, *groupState, error) {
	size := s.opts.GroupSize
	for n := s.seats.nextFree(0, size); ; n = s.seats.nextFree(n, size) {
		st, seq, err := s.updateGroup(ctx, n, func(st *groupState) ([]groupEvent, error) {
			if len(st.Members) >= size {
				return nil, errGroupFull
			}
			st.Members = append(st.Members, id)
			return []groupEvent{{
				event:  campbus.Event{Type: campbus.EventJoin, CampID: id, Members: st.Members},
				origin: id,
				conn:   conn,
			}}, nil
		})
		if errors.Is(err, errGroupFull) {
			s.seats.apply(n, seq, len(st.Members))
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		return n, st, nil
	}
}
