package node

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/handlers"
)

// TestChaos runs rounds of random faults (a node killed and restarted, or
// cut off and healed) on a 3-node cluster while campers chat, then checks
// the camp's log: no group over size, no session over maxCount, every
// acknowledged message stored once, no live camper swept. It runs only when
// asked, for it takes about 20 s a round:
//
//	CAMPBUS_CHAOS_ROUNDS=20 go test -run TestChaos -v ./node/
func TestChaos(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("CAMPBUS_CHAOS_ROUNDS"))
	if rounds <= 0 {
		t.Skip("set CAMPBUS_CHAOS_ROUNDS=N to run N rounds of kills, restarts and partitions")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	// Keep every event: the check counts every acknowledged message.
	c := startFaultyCluster(t, 3, func(o *Options) { o.Log.GroupEvents = 1 << 30 })

	var (
		mu sync.Mutex
		// faulted[k] is true while node k is down or cut off, and for the
		// round after; lastFault[k] is when its last fault began. A camper
		// of node k checked out after a fault of k began is expected.
		faulted    = make([]bool, 3)
		lastFault  = make([]time.Time, 3)
		acked      = map[string]bool{} // message texts answered 200
		violations []string
		// release times, apart for faults of a node that led the campers
		// bucket or GROUPS (the sweep waits for an election) and the others.
		releases = map[bool][]time.Duration{}
	)
	isFaulted := func(k int) bool { mu.Lock(); defer mu.Unlock(); return faulted[k] }
	faultSince := func(k int, t time.Time) bool {
		mu.Lock()
		defer mu.Unlock()
		return faulted[k] || lastFault[k].After(t)
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	const chatters = 9
	for i := range chatters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("J%03d", i+1)
			home := i % 3
			for k := 0; ctx.Err() == nil; {
				n := c.nodes[home]
				if n == nil || isFaulted(home) {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				cl, err := client.Dial(ctx, n.Addr().String())
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				go func() {
					for range cl.Events() {
					}
				}()
				rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				r, err := cl.Do(rctx, campbus.CmdCheckin, campbus.CheckinRequest{CampID: id})
				cancel()
				if err != nil || r.Status != 200 {
					cl.Close()
					time.Sleep(200 * time.Millisecond)
					continue
				}
				checkedInAt := time.Now()
				for ctx.Err() == nil {
					rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
					// Every attempt has a text of its own: one answered 500
					// may have been stored, and must not count as a copy.
					text := fmt.Sprintf("%s-%d", id, k)
					k++
					r, err := cl.Do(rctx, campbus.CmdMessage, map[string]string{"text": text})
					cancel()
					if err != nil {
						break // the connection ended
					}
					switch {
					case r.Status == 200:
						mu.Lock()
						acked[text] = true
						mu.Unlock()
					case r.Err != nil && r.Err.Code == campbus.CodeNoSession:
						rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
						_, _ = cl.Do(rctx, campbus.CmdPeerSession, map[string]int{"maxCount": handlers.MaxSessionMessages})
						cancel()
					case r.Err != nil && r.Err.Code == campbus.CodeNotCheckedIn:
						if !faultSince(home, checkedInAt) {
							mu.Lock()
							violations = append(violations, fmt.Sprintf("%s on n%d was checked out with no fault of n%d since its checkin at %s (now %s)",
								id, home+1, home+1, checkedInAt.Format("15:04:05.000"), time.Now().Format("15:04:05.000")))
							mu.Unlock()
						}
						rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
						r, err := cl.Do(rctx, campbus.CmdCheckin, campbus.CheckinRequest{CampID: id})
						cancel()
						if err != nil {
							break
						}
						if r.Status == 200 {
							checkedInAt = time.Now()
						}
					case r.Err != nil && r.Err.Code == campbus.CodeLimitReached:
						rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
						_, _ = cl.Do(rctx, campbus.CmdComplete, nil)
						cancel()
					}
					time.Sleep(100 * time.Millisecond)
				}
				cl.Close()
			}
		}()
	}

	// held reports whether node k's chatter (J00k+1) holds its campId.
	held := func(k int) bool {
		js, err := jetstream.New(c.live(k).handlerNC)
		require.NoError(t, err)
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		kv, err := js.KeyValue(rctx, bus.CampersBucket)
		if err != nil {
			return true // cannot tell yet
		}
		_, err = kv.Get(rctx, fmt.Sprintf("J%03d", k+1))
		return err == nil || err != jetstream.ErrKeyNotFound
	}
	// released waits until node k's chatter is released, and returns how
	// long since began.
	released := func(k int, began time.Time) time.Duration {
		for time.Since(began) < time.Minute {
			if !held(k) {
				return time.Since(began)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Errorf("n%d's camper not released within a minute", k+1)
		return time.Minute
	}

	for round := range rounds {
		time.Sleep(time.Duration(2000+rng.IntN(2000)) * time.Millisecond)
		k := rng.IntN(3)
		for deadline := time.Now().Add(20 * time.Second); !held(k) && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond) // its chatter is checking in again
		}
		leaders := c.leaders()
		led := leaders[bus.GroupsStream] == c.opts[k].Name || leaders["KV_"+bus.CampersBucket] == c.opts[k].Name
		mu.Lock()
		faulted[k], lastFault[k] = true, time.Now()
		mu.Unlock()
		began := time.Now()
		if rng.IntN(2) == 0 {
			t.Logf("%s round %d: kill n%d (led the campers or GROUPS: %v)", time.Now().Format("15:04:05.000"), round+1, k+1, led)
			c.kill(k)
			releases[led] = append(releases[led], released(k, began))
			c.restart(k)
		} else {
			t.Logf("%s round %d: cut n%d off (led the campers or GROUPS: %v)", time.Now().Format("15:04:05.000"), round+1, k+1, led)
			c.partition(k, true)
			releases[led] = append(releases[led], released(k, began))
			c.partition(k, false)
		}
		// Let the node's campers come back before the next fault.
		time.Sleep(5 * time.Second)
		mu.Lock()
		faulted[k] = false
		mu.Unlock()
	}
	stop()
	wg.Wait()

	checkCampInvariants(t, c.live(), 4)
	stored := storedMessages(t, c.live())
	missing, twice := 0, 0
	for text := range acked {
		switch stored[text] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	assert.Zero(t, missing, "acknowledged messages missing from the log")
	assert.Zero(t, twice, "acknowledged messages stored twice")
	assert.Empty(t, violations)
	t.Logf("chaos: %d rounds, %d acknowledged messages, %d violations", rounds, len(acked), len(violations)+missing+twice)
	for _, led := range []bool{false, true} {
		r := releases[led]
		if len(r) == 0 {
			continue
		}
		slices.Sort(r)
		pct := func(p float64) time.Duration { return r[int(p*float64(len(r)-1))].Round(10 * time.Millisecond) }
		t.Logf("release time, lost node led the campers or GROUPS %v: %d faults, p50 %v p95 %v max %v",
			led, len(r), pct(0.5), pct(0.95), r[len(r)-1].Round(10*time.Millisecond))
	}
}

// storedMessages counts the message events in the log by text.
func storedMessages(t *testing.T, n *Node) map[string]int {
	t.Helper()
	var log []*jetstream.RawStreamMsg
	require.Eventually(t, func() bool {
		var err error
		log, err = readGroupsLog(n)
		return err == nil
	}, 60*time.Second, time.Second, "the log can be read")
	out := map[string]int{}
	for _, m := range log {
		if m.Header.Get(bus.HdrType) == campbus.EventMessage {
			var ev campbus.Event
			require.NoError(t, json.Unmarshal(m.Data, &ev))
			out[ev.Text]++
		}
	}
	return out
}
