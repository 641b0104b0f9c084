package handlers

import "sync"

// seatView is this node's view of how many members each group has. It only
// proposes where a checkin should try first: the join itself is decided by
// compare-and-set on the group's log, so a stale view costs a retry, never a
// group over its size.
//
// Checkins under way on this node hold a seat each (reserve), so that
// checkins arriving together spread over the groups instead of all
// queueing for the same lowest one, to be refused there one after the
// other. A checkin that comes alone holds nothing when it starts, and goes
// to the lowest group with a free seat.
type seatView struct {
	mu       sync.Mutex
	members  []int    // members[n] for group n; index 0 unused
	sessions []bool   // whether group n runs a peer session
	seq      []uint64 // sequence of the event members[n] was read from
	held     []int    // seats of group n held by checkins under way here
}

func newSeatView() *seatView {
	return &seatView{members: []int{0}, sessions: []bool{false}, seq: []uint64{0}, held: []int{0}}
}

// apply records that group n had count members after the event at seq.
// Older news than what the view holds is ignored.
func (v *seatView) apply(n int, seq uint64, count int) {
	v.update(n, seq, func() { v.members[n] = count })
}

// applyState records group n's whole state after the event at seq.
func (v *seatView) applyState(n int, seq uint64, st *groupState) {
	v.update(n, seq, func() { v.members[n], v.sessions[n] = len(st.Members), st.Session != nil })
}

func (v *seatView) update(n int, seq uint64, set func()) {
	if n <= 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.grow(n)
	if seq >= v.seq[n] {
		set()
		v.seq[n] = seq
	}
}

// grow makes room for group n. v.mu must be held.
func (v *seatView) grow(n int) {
	for len(v.members) <= n {
		v.members = append(v.members, 0)
		v.sessions = append(v.sessions, false)
		v.seq = append(v.seq, 0)
		v.held = append(v.held, 0)
	}
}

// seated returns how many campers sit in the groups.
func (v *seatView) seated() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	total := 0
	for _, m := range v.members {
		total += m
	}
	return total
}

// counts returns how many groups have members and how many run a session.
func (v *seatView) counts() (groups, sessions int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for n := 1; n < len(v.members); n++ {
		if v.members[n] > 0 {
			groups++
		}
		if v.sessions[n] {
			sessions++
		}
	}
	return groups, sessions
}

// reserve holds a seat for a checkin in the lowest-numbered group above
// after whose members and held seats leave one free, and returns the group
// and the function that gives the seat back (once the checkin has joined
// or failed).
func (v *seatView) reserve(after, size int) (int, func()) {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := after + 1
	for n < len(v.members) && v.members[n]+v.held[n] >= size {
		n++
	}
	v.grow(n)
	v.held[n]++
	var once sync.Once
	return n, func() {
		once.Do(func() {
			v.mu.Lock()
			v.held[n]--
			v.mu.Unlock()
		})
	}
}
