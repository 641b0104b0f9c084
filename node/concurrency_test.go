package node

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/wire"
)

func TestFortyConcurrentCheckinsFillExactlyTenGroups(t *testing.T) {
	n := startNode(t, Options{})
	cs := make([]*camper, 40)
	for i := range cs {
		cs[i] = dial(t, n)
	}
	groups := make([]int, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.request(campbus.CmdCheckin, campbus.CheckinRequest{CampID: fmt.Sprintf("J%03d", i+1)})
		}()
	}
	wg.Wait()
	for i, c := range cs {
		f := c.response()
		require.Equal(t, 200, f.Status, "%s", f.Body)
		var r campbus.CheckinResponse
		require.NoError(t, json.Unmarshal(f.Body, &r))
		groups[i] = r.Group
	}
	count := map[int]int{}
	for _, g := range groups {
		count[g]++
	}
	want := map[int]int{}
	for g := 1; g <= 10; g++ {
		want[g] = 4
	}
	assert.Equal(t, want, count, "groups 1 to 10, four campers each")
}

func TestConcurrentMessagesNeverPassMaxCountAndEveryoneSeesOneOrder(t *testing.T) {
	const maxCount, perCamper = 25, 10
	n := startNode(t, Options{})
	cs := group(t, n, "J001", "J002", "J003", "J004")
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": maxCount}, nil)
	for _, c := range cs[1:] {
		c.expect(campbus.EventPeerSession)
	}

	// Every camper pipelines all its messages in one write, all at once.
	var wg sync.WaitGroup
	for i, c := range cs {
		var raw []byte
		for k := 0; k < perCamper; k++ {
			body, _ := json.Marshal(campbus.MessageRequest{Text: fmt.Sprintf("J00%d #%d", i+1, k)})
			raw = wire.AppendRequest(raw, campbus.CmdMessage, "", body)
		}
		wg.Add(1)
		go func() { defer wg.Done(); c.send(string(raw)) }()
	}
	wg.Wait()

	accepted := make([][]campbus.MessageResponse, len(cs))
	var seqs []int
	limited := 0
	for i, c := range cs {
		for k := 0; k < perCamper; k++ {
			f := c.response()
			if f.Status == 200 {
				var r campbus.MessageResponse
				require.NoError(t, json.Unmarshal(f.Body, &r))
				accepted[i] = append(accepted[i], r)
				seqs = append(seqs, r.Seq)
				continue
			}
			requireError(t, f, 409, campbus.CodeLimitReached)
			limited++
		}
	}
	sort.Ints(seqs)
	want := make([]int, maxCount)
	for i := range want {
		want[i] = i + 1
	}
	require.Equal(t, want, seqs, "exactly maxCount messages were accepted, numbered 1..maxCount")
	assert.Equal(t, len(cs)*perCamper-maxCount, limited)

	// Each camper receives every accepted message of the others, once, in
	// the group's order (seq rising), and none of its own.
	for i, c := range cs {
		expected := maxCount - len(accepted[i])
		last := 0
		for k := 0; k < expected; k++ {
			ev := c.expect(campbus.EventMessage)
			assert.NotEqual(t, fmt.Sprintf("J00%d", i+1), ev.From, "no echo of one's own message")
			assert.Greater(t, ev.Seq, last, "camper %d sees seq %d after %d", i+1, ev.Seq, last)
			require.NotNil(t, ev.Remaining)
			assert.Equal(t, maxCount-ev.Seq, *ev.Remaining)
			last = ev.Seq
		}
	}
	// Nothing more is queued for anyone: a final direct to each is the next event.
	for i, c := range cs {
		cs[(i+1)%len(cs)].ok(campbus.CmdDirect, campbus.DirectRequest{CampID: fmt.Sprintf("J00%d", i+1), Text: "end"}, nil)
		assert.Equal(t, "end", c.expect(campbus.EventDirect).Text)
	}
}

// Checkins that arrive together spread over the groups (each holds a seat
// while under way), yet every group ends full: a seat is never counted
// both as held and as taken, which would send a checkin past a group with
// room.
func TestCheckinsArrivingTogetherFillEveryGroup(t *testing.T) {
	n := startNode(t, Options{})
	const rounds, together = 6, 8
	perGroup := map[int]int{}
	var mu sync.Mutex
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		for i := 0; i < together; i++ {
			c := dial(t, n)
			id := fmt.Sprintf("J%03d", r*together+i+1)
			wg.Go(func() {
				var resp campbus.CheckinResponse
				f := c.do(campbus.CmdCheckin, campbus.CheckinRequest{CampID: id})
				if assert.Equal(t, 200, f.Status, "%s", f.Body) && assert.NoError(t, json.Unmarshal(f.Body, &resp)) {
					mu.Lock()
					perGroup[resp.Group]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	want := map[int]int{}
	for g := 1; g <= rounds*together/4; g++ {
		want[g] = 4
	}
	assert.Equal(t, want, perGroup, "campers per group")
}
