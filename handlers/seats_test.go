package handlers

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// groupUpdate is one call of seatView.apply.
type groupUpdate struct {
	group int
	seq   uint64
	count int
}

// viewOf returns a view with the updates applied in order.
func viewOf(updates ...groupUpdate) *seatView {
	v := newSeatView()
	for _, u := range updates {
		v.apply(u.group, u.seq, u.count)
	}
	return v
}

func TestSeatViewApply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		updates []groupUpdate
		want    []int // members of groups 1, 2, ...
	}{
		{"an empty view knows no group", nil, []int{}},
		{"a first update records the count", []groupUpdate{{1, 5, 3}}, []int{3}},
		{"a newer sequence replaces the count", []groupUpdate{{1, 5, 3}, {1, 6, 2}}, []int{2}},
		{"an older sequence is ignored", []groupUpdate{{1, 5, 3}, {1, 4, 1}}, []int{3}},
		{"an older sequence is ignored after several updates",
			[]groupUpdate{{1, 1, 1}, {1, 9, 4}, {1, 2, 2}, {1, 8, 0}}, []int{4}},
		{"the same sequence again replaces the count", []groupUpdate{{1, 5, 3}, {1, 5, 4}}, []int{4}},
		{"each group keeps its own sequence",
			[]groupUpdate{{1, 10, 4}, {2, 3, 1}, {2, 4, 2}, {1, 9, 0}}, []int{4, 2}},
		{"a group far ahead makes the groups before it known and empty", []groupUpdate{{3, 1, 2}}, []int{0, 0, 2}},
		{"group 0 is ignored", []groupUpdate{{0, 1, 4}}, []int{}},
		{"a negative group is ignored", []groupUpdate{{-1, 1, 4}}, []int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := viewOf(tc.updates...)
			assert.Equal(t, tc.want, v.members[1:])
			assert.Len(t, v.seq, len(v.members), "a sequence for every group")
		})
	}
}

func TestSeatViewNextFree(t *testing.T) {
	const size = 4
	for _, tc := range []struct {
		name    string
		updates []groupUpdate
		after   int
		want    int
	}{
		{"an empty view proposes group 1", nil, 0, 1},
		{"a group with a free seat is proposed", []groupUpdate{{1, 1, 3}}, 0, 1},
		{"a full group is passed over for the next with a free seat",
			[]groupUpdate{{1, 1, 4}, {2, 2, 2}}, 0, 2},
		{"the lowest group with a free seat wins over a later one",
			[]groupUpdate{{1, 1, 4}, {2, 2, 3}, {3, 3, 0}}, 0, 2},
		{"an emptied group below others is proposed",
			[]groupUpdate{{1, 1, 4}, {2, 2, 4}, {1, 3, 3}}, 0, 1},
		{"an empty group between full ones is proposed",
			[]groupUpdate{{1, 1, 4}, {3, 2, 4}}, 0, 2},
		{"past all known full groups the next new one is proposed",
			[]groupUpdate{{1, 1, 4}, {2, 2, 4}, {3, 3, 4}}, 0, 4},
		{"a group over its size counts as full",
			[]groupUpdate{{1, 1, 5}}, 0, 2},
		{"groups up to after are skipped even with free seats",
			[]groupUpdate{{1, 1, 0}, {2, 2, 1}, {3, 3, 2}}, 2, 3},
		{"after the last known group the next one is proposed",
			[]groupUpdate{{1, 1, 0}, {2, 2, 1}}, 2, 3},
		{"after far beyond the known groups proposes the group after it",
			[]groupUpdate{{1, 1, 4}}, 10, 11},
		{"an older full count does not hide a free seat",
			[]groupUpdate{{1, 5, 2}, {1, 4, 4}}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, giveBack := viewOf(tc.updates...).reserve(tc.after, size)
			giveBack()
			assert.Equal(t, tc.want, n)
		})
	}
}

// TestSeatViewIsSafeForConcurrentUse is for -race: checkins of many
// connections read and update one view at once.
func TestSeatViewIsSafeForConcurrentUse(t *testing.T) {
	v := newSeatView()
	var wg sync.WaitGroup
	for g := 1; g <= 8; g++ {
		wg.Go(func() {
			for seq := uint64(1); seq <= 100; seq++ {
				v.apply(g, seq, int(seq%5))
				_, giveBack := v.reserve(0, 4)
				giveBack()
			}
		})
	}
	wg.Wait()
	for g := 1; g <= 8; g++ {
		assert.Equal(t, 0, v.members[g], "group %d holds its last update (seq 100, 0 members)", g)
	}
	n, _ := v.reserve(0, 4)
	assert.Equal(t, 1, n)
}

func TestCheckinsUnderWayHoldTheirSeats(t *testing.T) {
	v := viewOf(groupUpdate{1, 1, 2})
	first, giveFirst := v.reserve(0, 4)
	second, giveSecond := v.reserve(0, 4)
	third, giveThird := v.reserve(0, 4)
	assert.Equal(t, []int{1, 1, 2}, []int{first, second, third}, "two seats left in group 1, then group 2")
	giveFirst()
	giveFirst() // once only
	again, giveAgain := v.reserve(0, 4)
	assert.Equal(t, 1, again, "a seat given back is free again")
	for _, give := range []func(){giveSecond, giveThird, giveAgain} {
		give()
	}
	alone, giveAlone := v.reserve(0, 4)
	giveAlone()
	assert.Equal(t, 1, alone, "a checkin that comes alone gets the lowest free seat")
}
