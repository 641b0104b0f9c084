package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
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

// startService runs the handlers on a bus of their own and returns a
// connection to ask them with.
func startService(t *testing.T, edit ...func(*Options)) (*Service, *nats.Conn) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bus.Start(bus.Options{ServerName: "t", DataDir: t.TempDir(), Logger: log})
	require.NoError(t, err)
	t.Cleanup(b.Shutdown)
	nc, err := b.Connect("handlers")
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := bus.EnsureStreams(ctx, js, bus.StreamOptions{})
	require.NoError(t, err)
	opts := Options{Logger: log}
	for _, e := range edit {
		e(&opts)
	}
	s, err := New(nc, js, st, opts)
	require.NoError(t, err)
	asker, err := b.Connect("asker")
	require.NoError(t, err)
	t.Cleanup(asker.Close)
	return s, asker
}

func ask(t *testing.T, nc *nats.Conn, req *bus.Request, body string) (int, campbus.Error) {
	t.Helper()
	req.Body = []byte(body)
	m, err := nc.RequestMsg(req.Msg(), 10*time.Second)
	require.NoError(t, err)
	reply, err := bus.ParseReply(m)
	require.NoError(t, err)
	var e campbus.Error
	if reply.Status != http.StatusOK {
		require.NoError(t, json.Unmarshal(reply.Body, &e))
		assert.Equal(t, e.Code, reply.Code, "the reply's code travels in its header too")
	}
	return reply.Status, e
}

func TestAPanickingHandlerAnswers500AndTheOthersGoOn(t *testing.T) {
	s, asker := startService(t)
	s.table[campbus.CmdMission] = func(context.Context, *request) (any, error) { panic("boom") }
	require.NoError(t, s.Start())
	t.Cleanup(s.Stop)

	status, e := ask(t, asker, &bus.Request{Command: campbus.CmdMission, Conn: "t.1.1"}, `{"day":4}`)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, campbus.CodeInternal, e.Code)

	status, _ = ask(t, asker, &bus.Request{Command: campbus.CmdCheckin, Conn: "t.1.1"}, `{"campId":"J001"}`)
	assert.Equal(t, http.StatusOK, status, "the service survived the panic")
}

func TestARequestWhoseAskerStoppedWaitingIsDropped(t *testing.T) {
	s, asker := startService(t)
	require.NoError(t, s.Start())
	t.Cleanup(s.Stop)

	late := &bus.Request{Command: campbus.CmdCheckin, Conn: "t.1.1", Deadline: time.Now().Add(-time.Second), Body: []byte(`{"campId":"J001"}`)}
	_, err := asker.RequestMsg(late.Msg(), 300*time.Millisecond)
	require.ErrorIs(t, err, nats.ErrTimeout, "no answer to a request past its deadline")

	// And it changed nothing: J001 is free.
	status, _ := ask(t, asker, &bus.Request{Command: campbus.CmdCheckin, Conn: "t.1.2"}, `{"campId":"J001"}`)
	assert.Equal(t, http.StatusOK, status)
}

func TestTheHandlersMatchTheCommandTable(t *testing.T) {
	s := &Service{}
	table := map[string]handlerFunc{}
	for _, name := range campbus.CommandNames() {
		table[name] = s.mission
	}
	require.NoError(t, tableInSync(table))
	delete(table, campbus.CmdHistory)
	require.ErrorContains(t, tableInSync(table), `command "history" has no handler`)
	table[campbus.CmdHistory] = s.mission
	table["dance"] = s.mission
	require.ErrorContains(t, tableInSync(table), "out of sync")
}

func TestACheckinRepeatedByTheConnectionThatHoldsTheIDSucceeds(t *testing.T) {
	s, asker := startService(t)
	require.NoError(t, s.Start())
	t.Cleanup(s.Stop)
	// The first answer was lost, and so was its undo: the id is held by
	// this very connection when it asks again.
	status, _ := ask(t, asker, &bus.Request{Command: campbus.CmdCheckin, Conn: "t.1.1"}, `{"campId":"J001"}`)
	require.Equal(t, http.StatusOK, status)
	status, _ = ask(t, asker, &bus.Request{Command: campbus.CmdCheckin, Conn: "t.1.1"}, `{"campId":"J001"}`)
	assert.Equal(t, http.StatusOK, status)
	st, _, err := s.loadGroup(context.Background(), 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"J001"}, st.Members, "one seat, not two")
	// Another connection still cannot take it.
	status, e := ask(t, asker, &bus.Request{Command: campbus.CmdCheckin, Conn: "t.1.2"}, `{"campId":"J001"}`)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, campbus.CodeCampIDInUse, e.Code)
}

func TestTheLeadersStateIsTheLogsState(t *testing.T) {
	s, asker := startService(t)
	require.NoError(t, s.Start())
	t.Cleanup(s.Stop)
	ctx := context.Background()
	st, seq, err := s.loadGroupFromLeader(ctx, 7)
	require.NoError(t, err)
	assert.Empty(t, st.Members, "a group that never had an event")
	assert.Zero(t, seq)
	status, _ := ask(t, asker, &bus.Request{Command: campbus.CmdCheckin, Conn: "t.1.1"}, `{"campId":"J001"}`)
	require.Equal(t, http.StatusOK, status)
	fromLeader, leaderSeq, err := s.loadGroupFromLeader(ctx, 1)
	require.NoError(t, err)
	fromReplica, replicaSeq, err := s.loadGroup(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, fromReplica, fromLeader)
	assert.Equal(t, replicaSeq, leaderSeq)
	assert.Equal(t, []string{"J001"}, fromLeader.Members)
}

// An append that no stream answers (its leader being elected, or here the
// stream gone for a moment) is tried again while the request's time lasts
// (Options.Timeout): a stream back within it is answered 200, one that
// stays away longer gets 503 unavailable in time, and the camper tries
// again.
func TestAnAppendWaitsOutAStreamThatDoesNotAnswerForAWhile(t *testing.T) {
	s, asker := startService(t)
	require.NoError(t, s.Start())
	t.Cleanup(s.Stop)
	for i, id := range []string{"J001", "J002"} {
		status, _ := ask(t, asker, &bus.Request{Command: campbus.CmdCheckin, Conn: fmt.Sprintf("t.1.%d", i+1)}, fmt.Sprintf(`{"campId":%q}`, id))
		require.Equal(t, http.StatusOK, status)
	}
	direct := func() (int, campbus.Error) {
		return ask(t, asker, &bus.Request{Command: campbus.CmdDirect, Conn: "t.1.1", CampID: "J001", Group: 1},
			`{"campId":"J002","text":"are you there?"}`)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, gone := range []time.Duration{700 * time.Millisecond, 2500 * time.Millisecond} {
		require.NoError(t, s.js.DeleteStream(ctx, bus.DirectsStream))
		began := time.Now()
		back := make(chan error, 1)
		go func() {
			// Gone longer than the client's own two retries, 250 ms apart.
			time.Sleep(gone)
			_, err := bus.EnsureStreams(ctx, s.js, bus.StreamOptions{})
			back <- err
		}()
		status, e := direct()
		took := time.Since(began)
		if gone < DefaultTimeout {
			assert.Equal(t, http.StatusOK, status, "%+v", e)
			assert.GreaterOrEqual(t, took, gone, "answered once the stream was back")
			require.NoError(t, <-back)
			continue
		}
		assert.Equal(t, http.StatusServiceUnavailable, status, "%+v", e)
		assert.Equal(t, campbus.CodeUnavailable, e.Code)
		assert.Equal(t, 1, e.RetryAfter)
		assert.Less(t, took, 2*time.Second, "answered within 2 s")
		require.NoError(t, <-back)
		status, e = direct()
		assert.Equal(t, http.StatusOK, status, "the stream is back: %+v", e)
	}
}
