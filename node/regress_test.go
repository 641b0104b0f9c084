package node

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
	"github.com/campbus/campbus/session"
	"github.com/campbus/campbus/wire"
)

func TestALargeResponseAfterAnIdleSpellIsWritten(t *testing.T) {
	const writeTimeout = 100 * time.Millisecond
	n := startNode(t, Options{Sessions: session.Options{WriteTimeout: writeTimeout}})
	cs := group(t, n, "J001", "J002")
	cs[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 25}, nil)
	cs[1].expect(campbus.EventPeerSession)
	text := strings.Repeat("가", 300) // 900 bytes
	for i := 0; i < 25; i++ {
		cs[1].ok(campbus.CmdMessage, map[string]string{"text": text}, nil)
		cs[0].expect(campbus.EventMessage)
	}
	// Let the connection idle past its write timeout: the deadline of the
	// last flush is long gone when the next, large, write comes.
	time.Sleep(3 * writeTimeout)
	f := cs[0].do(campbus.CmdHistory, nil)
	require.Equal(t, 200, f.Status)
	assert.Greater(t, len(f.Body), 16<<10, "the response is larger than the writer's buffer")
}

func TestAHostLeavingEndsItsSessionBeforeAnyNewOneStarts(t *testing.T) {
	n := startNode(t, Options{GroupSize: 3})
	cs := group(t, n, "J002", "J003")
	racer, watcher := cs[0], cs[1]
	for round := 0; round < 5; round++ {
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
			host := dial(t, n)
			host.checkin("J001")
			racer.expect(campbus.EventJoin)
			watcher.expect(campbus.EventJoin)
			host.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 5}, nil)
			racer.expect(campbus.EventPeerSession)
			watcher.expect(campbus.EventPeerSession)

			// J002 keeps asking for a session while the host vanishes.
			var raw []byte
			for k := 0; k < 50; k++ {
				raw = wire.AppendRequest(raw, campbus.CmdPeerSession, "", []byte(`{"maxCount":5}`))
			}
			racer.send(string(raw))
			host.conn.Close()
			won := 0
			for k := 0; k < 50; k++ {
				if racer.response().Status == 200 {
					won++
				}
			}
			require.LessOrEqual(t, won, 1, "one session at a time")

			// J003 sees the old session end, J001 leave, and then (maybe)
			// J002's session: never a new session before the old one ended.
			assert.Equal(t, campbus.Event{Type: campbus.EventComplete, Group: 1, Host: "J001", Reason: campbus.ReasonHostLeft, Messages: new(int)},
				noOffset(watcher.expect(campbus.EventComplete)))
			var rest []string
			for len(rest) < 1+won {
				ev := watcher.event()
				rest = append(rest, ev.Type+"/"+ev.CampID+ev.Host)
			}
			assert.Contains(t, rest, "checkout/J001")
			for len(racer.events) > 0 {
				<-racer.events
			}
			if won == 1 {
				racer.ok(campbus.CmdComplete, nil, nil)
				assert.Equal(t, "J002", watcher.expect(campbus.EventComplete).Host)
			}
		})
	}
}

func TestHistoryLeavesNoConsumerBehind(t *testing.T) {
	n := startNode(t, Options{})
	c := dial(t, n)
	c.checkin("J001")
	c.ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J001", Text: "note to self"}, nil)
	var h struct{ Events []json.RawMessage }
	for i := 0; i < 20; i++ {
		c.ok(campbus.CmdHistory, nil, &h)
	}
	require.Len(t, h.Events, 2, "the join and the direct to oneself, once")

	nc, err := n.bus.Connect("inspect")
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	mutes := bus.LogStaffSubject(campbus.CmdMute, "*")
	for _, name := range []string{bus.GroupsStream, bus.DirectsStream} {
		st, err := js.Stream(ctx, name)
		require.NoError(t, err)
		lister := st.ListConsumers(ctx)
		for ci := range lister.Info() {
			// The handlers' one watch of the mutes staff set lives on.
			filters := append([]string{ci.Config.FilterSubject}, ci.Config.FilterSubjects...)
			assert.Contains(t, filters, mutes, "consumer %s left on %s", ci.Name, name)
		}
		require.NoError(t, lister.Err())
	}
}

func TestAManyDirectsLogNeverLosesAGroupsState(t *testing.T) {
	n := startNode(t, Options{GroupSize: 2, Log: bus.StreamOptions{DirectMaxBytes: 16 << 10}})
	cs := group(t, n, "J001", "J002")
	other := dial(t, n)
	other.checkin("J003")
	for i := 0; i < 100; i++ {
		cs[0].ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J003", Text: strings.Repeat("x", 500)}, nil)
		other.expect(campbus.EventDirect)
	}
	// Group 1's state survived the directs' size limit: J002 hears J001 leave.
	cs[0].ok(campbus.CmdCheckout, nil, nil)
	assert.Equal(t, "J001", cs[1].expect(campbus.EventCheckout).CampID)
}
