package handlers

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

func state(members []string, ss *session) *groupState {
	return &groupState{Members: members, Session: ss}
}

// decided checks a rule's outcome: the refusal's code, or the event type
// and the state after.
type decided struct {
	code  string // "" for no refusal
	event string // "" for nothing recorded
	after *groupState
}

func check(t *testing.T, st *groupState, ev *groupEvent, err error, want decided) {
	t.Helper()
	if want.code != "" {
		var perr *campbus.Error
		if errors.Is(err, errGroupFull) {
			assert.Equal(t, "group-full", want.code)
			return
		}
		require.ErrorAs(t, err, &perr)
		assert.Equal(t, want.code, perr.Code)
		return
	}
	require.NoError(t, err)
	if want.event == "" {
		assert.Nil(t, ev)
	} else {
		require.NotNil(t, ev)
		assert.Equal(t, want.event, ev.event.Type)
	}
	assert.Equal(t, want.after, st)
}

func TestSeatingFollowsTheGroupSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   *groupState
		id   string
		want decided
	}{
		{"an empty group seats the first", state(nil, nil), "J001", decided{event: campbus.EventJoin, after: state([]string{"J001"}, nil)}},
		{"a group with a free seat seats one more, last", state([]string{"J001", "J002", "J003"}, nil), "J004",
			decided{event: campbus.EventJoin, after: state([]string{"J001", "J002", "J003", "J004"}, nil)}},
		{"a full group refuses", state([]string{"J001", "J002", "J003", "J004"}, nil), "J005", decided{code: "group-full"}},
		{"a seat left over is the camper's own, even in a full group", state([]string{"J001", "J002", "J003", "J004"}, nil), "J003",
			decided{event: campbus.EventJoin, after: state([]string{"J001", "J002", "J003", "J004"}, nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := seat(tc.st, tc.id, "n1.a.1", 4)
			check(t, tc.st, ev, err, tc.want)
			if ev != nil {
				assert.Equal(t, tc.st.Members, ev.event.Members, "the join lists the members")
				assert.Equal(t, "n1.a.1", ev.conn, "the join names the connection to attach")
			}
		})
	}
}

func TestSessionRules(t *testing.T) {
	running := func(host string, max, count int) *session { return &session{Host: host, MaxCount: max, Count: count} }
	two := []string{"J001", "J002"}
	t.Run("start", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			st   *groupState
			host string
			want decided
		}{
			{"a member starts one", state(two, nil), "J001", decided{event: campbus.EventPeerSession, after: state(two, running("J001", 3, 0))}},
			{"not while one runs", state(two, running("J002", 3, 1)), "J001", decided{code: campbus.CodeSessionActive}},
			{"not by a stranger", state(two, nil), "J009", decided{code: campbus.CodeNotCheckedIn}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ev, err := startSession(tc.st, 1, tc.host, 3)
				check(t, tc.st, ev, err, tc.want)
			})
		}
	})
	t.Run("message", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			st   *groupState
			from string
			want decided
		}{
			{"counts against the limit", state(two, running("J001", 2, 0)), "J002", decided{event: campbus.EventMessage, after: state(two, running("J001", 2, 1))}},
			{"the last one allowed", state(two, running("J001", 2, 1)), "J001", decided{event: campbus.EventMessage, after: state(two, running("J001", 2, 2))}},
			{"past the limit", state(two, running("J001", 2, 2)), "J002", decided{code: campbus.CodeLimitReached}},
			{"without a session", state(two, nil), "J002", decided{code: campbus.CodeNoSession}},
			{"from a camper no longer in the group", state(two, running("J001", 2, 0)), "J003", decided{code: campbus.CodeNotCheckedIn}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ev, err := sendMessage(tc.st, 1, tc.from, "hi")
				check(t, tc.st, ev, err, tc.want)
				if ev != nil {
					assert.Equal(t, tc.st.Session.Count, ev.event.Seq)
					assert.Equal(t, tc.st.Session.MaxCount-tc.st.Session.Count, *ev.event.Remaining)
				}
			})
		}
	})
	t.Run("complete", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			st   *groupState
			by   string
			want decided
		}{
			{"by its host", state(two, running("J001", 5, 3)), "J001", decided{event: campbus.EventComplete, after: state(two, nil)}},
			{"not by another member", state(two, running("J001", 5, 3)), "J002", decided{code: campbus.CodeNotHost}},
			{"nothing to complete", state(two, nil), "J001", decided{code: campbus.CodeNoSession}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ev, err := completeSession(tc.st, 1, tc.by)
				check(t, tc.st, ev, err, tc.want)
				if ev != nil {
					assert.Equal(t, 3, *ev.event.Messages)
				}
			})
		}
	})
}

func TestLeavingRules(t *testing.T) {
	hosted := &session{Host: "J001", MaxCount: 5, Count: 2}
	t.Run("a leaving host ends its session first", func(t *testing.T) {
		st := state([]string{"J001", "J002"}, hosted)
		ev, err := endHostedSession(st, "J001")
		check(t, st, ev, err, decided{event: campbus.EventComplete, after: state([]string{"J001", "J002"}, nil)})
		assert.Equal(t, campbus.ReasonHostLeft, ev.event.Reason)
		assert.Equal(t, 2, *ev.event.Messages)
	})
	t.Run("a member who hosts nothing leaves the session running", func(t *testing.T) {
		st := state([]string{"J001", "J002"}, hosted)
		ev, err := endHostedSession(st, "J002")
		check(t, st, ev, err, decided{after: state([]string{"J001", "J002"}, hosted)})
	})
	t.Run("unseat keeps the others in their order", func(t *testing.T) {
		st := state([]string{"J001", "J002", "J003"}, nil)
		ev, err := unseat(st, "J002", campbus.ReasonDisconnect)
		check(t, st, ev, err, decided{event: campbus.EventCheckout, after: state([]string{"J001", "J003"}, nil)})
		assert.Equal(t, campbus.ReasonDisconnect, ev.event.Reason)
	})
	t.Run("unseating one who is gone records nothing", func(t *testing.T) {
		st := state([]string{"J001"}, nil)
		ev, err := unseat(st, "J002", campbus.ReasonCheckout)
		check(t, st, ev, err, decided{after: state([]string{"J001"}, nil)})
	})
}
