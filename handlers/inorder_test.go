package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// A front-end publishes a camper's messages without waiting for the answers
// (session.Options.Pipeline): they are decided, stored and answered in the
// order they were published, and the session's limit holds across them,
// whether the node appends them one at a time (in a cluster) or several
// at once (alone).
func TestMessagesPublishedTogetherKeepTheirOrder(t *testing.T) {
	for _, sole := range []bool{false, true} {
		t.Run(fmt.Sprintf("sole writer %v", sole), func(t *testing.T) {
			testMessagesPublishedTogether(t, sole)
		})
	}
}

func testMessagesPublishedTogether(t *testing.T, sole bool) {
	s, asker := startService(t, func(o *Options) { o.SoleWriter = sole })
	require.NoError(t, s.Start())
	t.Cleanup(s.Stop)

	for i, id := range []string{"J001", "J002"} {
		status, _ := ask(t, asker, &bus.Request{Command: campbus.CmdCheckin, Conn: fmt.Sprintf("t.1.%d", i+1)}, fmt.Sprintf(`{"campId":%q}`, id))
		require.Equal(t, http.StatusOK, status)
	}
	const maxCount = 30
	status, _ := ask(t, asker, &bus.Request{Command: campbus.CmdPeerSession, Conn: "t.1.1", CampID: "J001", Group: 1}, fmt.Sprintf(`{"maxCount":%d}`, maxCount))
	require.Equal(t, http.StatusOK, status)

	// Two campers, 20 messages each, interleaved, all published before the
	// first answer is read: 40 messages for a limit of 30.
	replies := make(chan *nats.Msg, 64)
	sub, err := asker.ChanSubscribe(nats.NewInbox()+".*", replies)
	require.NoError(t, err)
	inbox := sub.Subject[:len(sub.Subject)-2]
	type sent struct{ from, text string }
	var order []sent
	for i := 0; i < 20; i++ {
		for c, id := range []string{"J001", "J002"} {
			text := fmt.Sprintf("%s-%02d", id, i)
			req := &bus.Request{Command: campbus.CmdMessage, Conn: fmt.Sprintf("t.1.%d", c+1), CampID: id, Group: 1,
				Body: []byte(fmt.Sprintf(`{"text":%q}`, text))}
			m := req.Msg()
			m.Reply = fmt.Sprintf("%s.%d", inbox, len(order))
			require.NoError(t, asker.PublishMsg(m))
			order = append(order, sent{id, text})
		}
	}
	require.NoError(t, asker.Flush())

	answers := map[int]campbus.MessageResponse{}
	refused := map[int]string{}
	for len(answers)+len(refused) < len(order) {
		select {
		case m := <-replies:
			var k int
			_, err := fmt.Sscanf(m.Subject[len(inbox)+1:], "%d", &k)
			require.NoError(t, err)
			reply, err := bus.ParseReply(m)
			require.NoError(t, err)
			if reply.Status == http.StatusOK {
				var r campbus.MessageResponse
				require.NoError(t, json.Unmarshal(reply.Body, &r))
				answers[k] = r
			} else {
				refused[k] = reply.Code
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d answers of %d", len(answers)+len(refused), len(order))
		}
	}
	// The first 30 published are accepted, numbered 1..30 in publish
	// order; the last 10 are refused at the limit.
	for k := range order {
		if k < maxCount {
			if assert.Contains(t, answers, k, "message %d", k) {
				assert.Equal(t, k+1, answers[k].Seq, "message %d", k)
				assert.Equal(t, maxCount-k-1, answers[k].Remaining, "message %d", k)
			}
		} else {
			assert.Equal(t, campbus.CodeLimitReached, refused[k], "message %d", k)
		}
	}

	// The log has them in the same order.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := s.groups.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.LogGroupSubject(1)}})
	require.NoError(t, err)
	var stored []sent
	for len(stored) < maxCount {
		m, err := cons.Next()
		require.NoError(t, err)
		var ev campbus.Event
		require.NoError(t, json.Unmarshal(m.Data(), &ev))
		if ev.Type == campbus.EventMessage {
			stored = append(stored, sent{ev.From, ev.Text})
		}
	}
	assert.Equal(t, order[:maxCount], stored)
	if sole {
		assert.Positive(t, s.unwaited.Load(), "some appended without waiting for the one before")
	} else {
		assert.Zero(t, s.unwaited.Load(), "in a cluster each waits for the one before")
	}
}
