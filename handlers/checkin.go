package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// camperRecord is the value of a camper's key in the campers bucket.
type camperRecord struct {
	Conn      string `json:"conn"` // front-end connection holding the camper
	CheckinMs int64  `json:"checkinMs"`
	Group     int    `json:"group,omitempty"` // 0 until the camper is seated
	// Leaving is set while the camper's checkout is under way: the id is
	// about to be free, so a checkin for it waits a moment.
	Leaving bool `json:"leaving,omitempty"`
}

// Waiting for a leaving camper's id: how long, and how often to look.
const (
	leavingWait  = time.Second
	leavingRetry = 5 * time.Millisecond
)

// errGroupFull tells checkin to try the next group.
var errGroupFull = errors.New("group full")

// checkin handles POST /checkin {"campId":"J004"}; with a token when the
// server needs one (PROTOCOL.md §9), which the front-end judged and took out
// of the body (see tokenAdmits).
//
// It claims the campId in the campers bucket (create fails if anyone holds
// it), then joins the lowest-numbered group with a free seat: the join is
// appended to the group's log only if the group is unchanged since it was
// read, so concurrent checkins never put a fifth camper in a group. The
// other members get a join event.
func (s *Service) checkin(ctx context.Context, r *request) (any, error) {
	f, err := decodeBody(r.Body)
	if err != nil {
		return nil, err
	}
	id, err := f.campID(s.opts.CampIDs)
	if err != nil {
		return nil, err
	}
	if err := tokenAdmits(r.Token, id); err != nil {
		return nil, err
	}
	if r.Token.Needed() {
		if err := s.notRevoked(ctx, id, r.Token.Issued); err != nil {
			return nil, err
		}
	}
	done, err := s.roomToGrow(ctx, r.Command, eventBytes, true)
	if err != nil {
		return nil, err
	}
	defer done()
	// The seat is chosen before the id is claimed, so that the claim
	// records the group the camper is about to join: two writes to the
	// log in the common case, and a third only when the join ends up in
	// another group (the chosen one filled meanwhile).
	first, unreserve := s.seats.reserve(0, s.opts.GroupSize)
	rec := camperRecord{Conn: r.Conn, CheckinMs: s.opts.Now().UnixMilli(), Group: first}
	rev, stored, err := s.claim(ctx, id, rec)
	if err != nil {
		unreserve()
		return nil, err
	}
	n, st, err := s.join(ctx, id, r.Conn, first, unreserve)
	if err == nil && stored.Group != n {
		rec.Group = n
		_, err = s.campers.Update(ctx, id, mustJSON(rec), rev)
	}
	if err != nil {
		s.undoCheckin(id, n)
		return nil, err
	}
	r.seated = &bus.Reply{CampID: id, Group: n}
	resp := campbus.CheckinResponse{CampID: id, Group: n, Members: st.Members, Offset: st.Offset, Epoch: s.epoch}
	if s.opts.Nodes != nil {
		resp.Nodes = s.opts.Nodes()
	}
	return resp, nil
}

// tokenAdmits refuses, with 401 bad-token, a checkin as id whose token the
// front-end refused or found made for another campId; it admits any checkin
// when the server needs no token.
//
// The front-end that holds the secret checks the token (signature, algorithm,
// expiry) before the request goes on the bus, and sends the verdict instead
// of the token: no token is ever on the bus for an observer to read. The
// verdict is applied here, after the body's and the campId's errors, so that
// §3's order of errors is kept in one place; and the campId compared is the
// one this checkin will claim, as this handler decoded it.
func tokenAdmits(v bus.TokenVerdict, id string) error {
	switch {
	case !v.Needed():
		return nil
	case v.Refused != "":
		return campbus.BadToken(v.Refused)
	case v.For != id:
		return campbus.BadToken(fmt.Sprintf("the token is for %s, not %s", v.For, id))
	}
	return nil
}

// claim creates id's key in the campers bucket with rec, and returns its
// revision and the record the key holds. If the id's holder is checking
// out right now, it waits for the key to go.
func (s *Service) claim(ctx context.Context, id string, rec camperRecord) (uint64, camperRecord, error) {
	deadline := time.Now().Add(leavingWait)
	if d, ok := ctx.Deadline(); ok {
		deadline = minTime(deadline, d)
	}
	for {
		rev, err := s.campers.Create(ctx, id, mustJSON(rec))
		if err == nil {
			return rev, rec, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, rec, fmt.Errorf("claim %s: %w", id, err)
		}
		held, gerr := s.campers.Get(ctx, id)
		var other camperRecord
		switch {
		case errors.Is(gerr, jetstream.ErrKeyNotFound):
			continue // released between our create and get
		case gerr != nil:
			return 0, rec, fmt.Errorf("claim %s: %w", id, gerr)
		case json.Unmarshal(held.Value(), &other) == nil && other.Conn == rec.Conn && !other.Leaving:
			// This connection holds the id already: an earlier checkin
			// whose answer was lost, and whose undo failed too. It is
			// this checkin; it goes on from the record there is.
			return held.Revision(), other, nil
		case json.Unmarshal(held.Value(), &other) != nil || !other.Leaving || time.Now().After(deadline):
			return 0, rec, campbus.Errorf(http.StatusConflict, campbus.CodeCampIDInUse,
				"camp id %s is already checked in on another connection", id)
		}
		select {
		case <-ctx.Done():
			return 0, rec, ctx.Err()
		case <-time.After(leavingRetry):
		}
	}
}

// undoCheckin takes back a checkin that failed half way: out of group n (if
// it got a seat) and the id released. It runs on its own short deadline: the
// request's may be what ran out.
func (s *Service) undoCheckin(id string, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	if n > 0 {
		if err := s.leave(ctx, n, id, campbus.ReasonDisconnect); err != nil {
			s.log.Error("undo checkin: leave group", "campId", id, "group", n, "err", err)
		}
	}
	if err := s.campers.Delete(ctx, id); err != nil {
		s.log.Error("undo checkin: release camp id", "campId", id, "err", err)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only for the package's own plain structs
	}
	return b
}

// join seats id in the lowest-numbered group with a free seat, trying
// group n first, whose seat the caller reserved (unreserve gives it back).
//
// Where to try comes from this node's seat view, less the seats that
// other checkins under way on this node hold (seatView.reserve); the log's
// compare-and-set decides.
func (s *Service) join(ctx context.Context, id, conn string, n int, unreserve func()) (int, *groupState, error) {
	size := s.opts.GroupSize
	for {
		st, seq, err := s.updateGroup(ctx, n, func(st *groupState) (*groupEvent, error) {
			// The seat is given back before the join is appended, which
			// counts it among the members: counted twice for a moment, a
			// seat would send a checkin under way past a group with room
			// (and leave that group short); counted nowhere for a moment,
			// it can only let one checkin too many try the group, and the
			// log refuses it.
			unreserve()
			return seat(st, id, conn, size)
		})
		if errors.Is(err, errGroupFull) {
			s.seats.apply(n, seq, len(st.Members))
			unreserve()
			n, unreserve = s.seats.reserve(n, size)
			continue
		}
		unreserve()
		if err != nil {
			return 0, nil, err
		}
		return n, st, nil
	}
}
