package liveness

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

func TestTheViewDecidesWhoIsSuspectAndWhetherThereIsAMajority(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return t0.Add(-d) }
	for _, tc := range []struct {
		name     string
		started  time.Duration // how long ago this node started
		heard    map[string]time.Duration
		lost     []string
		size     int
		names    []string
		suspects []string
		alive    []string
		majority bool
	}{
		{
			name: "all three heard lately: nobody is suspect", started: time.Minute,
			heard: map[string]time.Duration{"n2": 100 * time.Millisecond, "n3": 300 * time.Millisecond},
			size:  3, alive: []string{"n1", "n2", "n3"}, majority: true,
		},
		{
			name: "one silent past the timeout, one heard lately: a suspect and a majority", started: time.Minute,
			heard: map[string]time.Duration{"n2": 100 * time.Millisecond, "n3": 3 * time.Second},
			size:  3, suspects: []string{"n3"}, alive: []string{"n1", "n2"}, majority: true,
		},
		{
			name: "cut off from both at once: the last beats of one peer are no majority", started: time.Minute,
			heard: map[string]time.Duration{"n2": 1500 * time.Millisecond, "n3": 2100 * time.Millisecond},
			size:  3, suspects: []string{"n3"}, alive: []string{"n1", "n2"}, majority: false,
		},
		{
			name: "alone: no majority", started: time.Minute,
			heard: map[string]time.Duration{"n2": 5 * time.Second, "n3": 5 * time.Second},
			size:  3, suspects: []string{"n2", "n3"}, alive: []string{"n1"}, majority: false,
		},
		{
			name: "a node the cluster knows but never heard: suspect once the timeout since start has passed", started: 3 * time.Second,
			heard: map[string]time.Duration{"n2": 100 * time.Millisecond},
			size:  3, names: []string{"n2", "n3"}, suspects: []string{"n3"}, alive: []string{"n1", "n2"}, majority: true,
		},
		{
			name: "just started: a node never heard is given time", started: time.Second,
			heard: map[string]time.Duration{"n2": 100 * time.Millisecond},
			size:  3, names: []string{"n2", "n3"}, alive: []string{"n1", "n2"}, majority: true,
		},
		{
			name: "a lost node is suspect no more, and still counts in the size", started: time.Minute,
			heard: map[string]time.Duration{"n2": 100 * time.Millisecond, "n3": time.Minute},
			lost:  []string{"n3"}, size: 3, alive: []string{"n1", "n2"}, majority: true,
		},
		{
			name: "five nodes, two heard: no majority", started: time.Minute,
			heard: map[string]time.Duration{"n2": 100 * time.Millisecond, "n3": 100 * time.Millisecond, "n4": time.Minute, "n5": time.Minute},
			size:  5, suspects: []string{"n4", "n5"}, alive: []string{"n1", "n2", "n3"}, majority: true,
		},
		{
			name: "the size known to the cluster wins over the nodes heard", started: time.Minute,
			heard: map[string]time.Duration{"n2": 100 * time.Millisecond},
			size:  5, alive: []string{"n1", "n2"}, majority: false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(nil, Options{Self: bus.Instance{Node: "n1", Run: "a"}, Timeout: 2 * time.Second})
			d.start = ago(tc.started)
			for n, since := range tc.heard {
				d.peers[n] = &peer{run: "r", last: ago(since)}
			}
			for _, n := range tc.lost {
				d.lost[n] = true
			}
			v := d.view(t0, tc.size, tc.names)
			assert.Equal(t, tc.alive, v.Alive, "alive")
			assert.Equal(t, tc.suspects, v.Suspects, "suspects")
			assert.Equal(t, tc.majority, v.Majority, "majority")
		})
	}
}

func TestStaleConnectionsAreThoseOfLostNodesAndEarlierRuns(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	d := New(nil, Options{Self: bus.Instance{Node: "n1", Run: "a"}, Timeout: 2 * time.Second, Now: func() time.Time { return now }})
	d.peers["n2"] = &peer{run: "b2", last: now.Add(-time.Second)}
	d.peers["n3"] = &peer{run: "c", last: now.Add(-time.Minute)}
	d.peers["n4"] = &peer{run: "d", last: now.Add(-time.Minute)}
	d.peers["n5"] = &peer{run: "e", last: now.Add(-time.Minute)}
	d.lost["n3"], d.toSweep["n3"] = true, true
	d.lost["n5"] = true // swept already
	for conn, stale := range map[string]bool{
		"n1.a.1":  false, // this run
		"n1.z.1":  true,  // an earlier run of this node
		"n1.7":    true,  // this node, before run tokens
		"n2.b2.4": false, // a live node's current run
		"n2.b1.4": true,  // a live node's earlier run
		"n3.c.9":  true,  // a lost node, its sweep pending
		"n5.e.3":  false, // a lost node swept already: a later camper is not ours to sweep
		"n4.d.2":  false, // silent, but not declared lost
		"n9.x.1":  false, // a node nobody knows
	} {
		assert.Equal(t, stale, d.Stale(conn), conn)
	}
}

func TestBeatsCarryTheAdvertInAHeaderAndTheRunTokenAlone(t *testing.T) {
	d := New(nil, Options{Self: bus.Instance{Node: "n1", Run: "a"}})
	m := d.beatMsg.Load()
	assert.Equal(t, "a", string(m.Data), "the payload is the run token, as a node from before adverts reads it")
	assert.Empty(t, m.Header.Get(AdvertHeader), "nothing to advertise before the node serves")
	d.Advertise(Advert{TCP: "n1.camp:2022", Web: "https://n1.camp"})
	m = d.beatMsg.Load()
	assert.Equal(t, "a", string(m.Data))
	assert.JSONEq(t, `{"tcp":"n1.camp:2022","web":"https://n1.camp"}`, m.Header.Get(AdvertHeader))

	for h, want := range map[string]Advert{
		`{"tcp":"10.0.0.1:2022","web":"http://10.0.0.1:8080"}`: {TCP: "10.0.0.1:2022", Web: "http://10.0.0.1:8080"},
		``:        {}, // a node from before adverts
		`{"tcp":`: {}, // unreadable: advertises nothing
	} {
		assert.Equal(t, want, *parseAdvert(h), h)
	}
}

func TestTheCampIsTheLiveNodesThatServeInNameOrder(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	d := New(nil, Options{Self: bus.Instance{Node: "n2", Run: "b"}, Timeout: 2 * time.Second, Now: func() time.Time { return now }})
	assert.Empty(t, d.Camp(), "a node that does not serve yet lists nobody, itself included")
	d.Advertise(Advert{TCP: "h2:2022", Web: "http://h2:8080"})
	d.heard("n3", "c", &Advert{TCP: "h3:2022"})
	d.heard("n1", "a", &Advert{TCP: "h1:2022", Web: "https://h1"})
	d.heard("n4", "d", &Advert{})            // starting, or draining
	d.heard("n5", "e", &Advert{TCP: "h5:1"}) // then silent
	d.heard("n6", "f", &Advert{TCP: "h6:1", Web: "http://h6"})
	d.heard("n7", "g", nil) // heard by a direct check only
	now = now.Add(1500 * time.Millisecond)
	d.heard("n1", "a", nil) // a direct check's answer keeps the advert
	d.heard("n3", "c", &Advert{TCP: "h3:2022"})
	d.heard("n4", "d", &Advert{})
	d.heard("n6", "f", &Advert{TCP: "h6:1", Web: "http://h6"})
	d.lost["n6"] = true // declared lost meanwhile
	now = now.Add(time.Second)
	assert.Equal(t, []campbus.NodeInfo{
		{Name: "n1", TCP: "h1:2022", Web: "https://h1"},
		{Name: "n2", TCP: "h2:2022", Web: "http://h2:8080"},
		{Name: "n3", TCP: "h3:2022"},
	}, d.Camp())
	assert.ElementsMatch(t, []string{"http://h2:8080", "https://h1", "http://h6"}, d.WebURLs(),
		"every node heard, live or not, for the origins of its pages")
}
