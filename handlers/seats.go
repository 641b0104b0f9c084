package handlers

import "sync"

// seatView is this node's view of how many members each group has. It only
// proposes where a checkin should try first: the join itself is decided by
// compare-and-set on the group's log, so a stale view costs a retry, never a
// group over its size.
type seatView struct {
	mu      sync.Mutex
	members []int    // members[n] for group n; index 0 unused
	seq     []uint64 // sequence of the event members[n] was read from
}

func newSeatView() *seatView { return &seatView{members: []int{0}, seq: []uint64{0}} }

// apply records that group n had count members after the event at seq.
// Older news than what the view holds is ignored.
func (v *seatView) apply(n int, seq uint64, count int) {
	if n <= 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for len(v.members) <= n {
		v.members = append(v.members, 0)
		v.seq = append(v.seq, 0)
	}
	if seq >= v.seq[n] {
		v.members[n], v.seq[n] = count, seq
	}
}

// nextFree returns the lowest-numbered group above after with fewer than
// size members; past every known group it returns the next, empty one.
func (v *seatView) nextFree(after, size int) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := after + 1
	for n < len(v.members) && v.members[n] >= size {
		n++
	}
	return n
}
