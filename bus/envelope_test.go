package bus

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTheEnvelopeTravelsWhole(t *testing.T) {
	t.Run("a request from a checked-in camper", func(t *testing.T) {
		in := &Request{Command: "message", Conn: "n1.ab12.7", CampID: "J004", Group: 3,
			Deadline: time.UnixMilli(1_800_000_000_123), Body: []byte(`{"text":"hi"}`)}
		m := in.Msg()
		assert.Equal(t, "req.message", m.Subject)
		assert.Equal(t, in, ParseRequest(m))
	})
	t.Run("a checkout for a lost connection", func(t *testing.T) {
		in := &Request{Command: "checkout", Conn: "n1.ab12.7", CampID: "J004", Reason: "disconnect"}
		assert.Equal(t, in, ParseRequest(in.Msg()))
	})
	t.Run("a checkin's token verdict, never its token", func(t *testing.T) {
		for _, v := range []TokenVerdict{{For: "J004"}, {Refused: "the token has expired; ask for a new one"}, {}} {
			in := &Request{Command: "checkin", Conn: "n1.ab12.9", Token: v, Body: []byte(`{"campId":"J004"}`)}
			assert.Equal(t, in, ParseRequest(in.Msg()))
			assert.Equal(t, v.For != "" || v.Refused != "", in.Token.Needed())
		}
	})
	t.Run("a request before checkin carries no camper", func(t *testing.T) {
		m := (&Request{Command: "checkin", Conn: "n1.ab12.8"}).Msg()
		assert.Empty(t, m.Header.Get(HdrCampID))
		assert.Empty(t, m.Header.Get(HdrGroup))
	})
	t.Run("a checkin's reply names the camper", func(t *testing.T) {
		in := &Reply{Status: 200, CampID: "J004", Group: 2, Body: []byte(`{}`)}
		out, err := ParseReply(in.Msg())
		require.NoError(t, err)
		assert.Equal(t, in, out)
	})
	t.Run("an error reply carries its code", func(t *testing.T) {
		in := &Reply{Status: 409, Code: "camp-id-in-use", Body: []byte(`{"code":"camp-id-in-use"}`)}
		out, err := ParseReply(in.Msg())
		require.NoError(t, err)
		assert.Equal(t, in, out)
	})
	t.Run("a reply without a status is an error", func(t *testing.T) {
		_, err := ParseReply(&nats.Msg{Header: nats.Header{}})
		assert.Error(t, err)
	})
	t.Run("an event's metadata", func(t *testing.T) {
		in := EventMeta{Type: "join", Origin: "J004", Conn: "n1.ab12.7", State: []byte(`{"members":["J004"]}`)}
		assert.Equal(t, in, ParseEventMeta(&nats.Msg{Header: in.Header()}))
		direct := EventMeta{Type: "direct", Origin: "J005"}
		assert.Equal(t, direct, ParseEventMeta(&nats.Msg{Header: direct.Header()}))
	})
}

func TestAConnectionIDNamesItsInstance(t *testing.T) {
	in := Instance{Node: "n1", Run: "3fa9c2d1"}
	id := in.ConnID(42)
	assert.Equal(t, "n1.3fa9c2d1.42", id)
	got, ok := InstanceOf(id)
	assert.True(t, ok)
	assert.Equal(t, in, got)
	old, ok := InstanceOf("n1.42")
	assert.False(t, ok, "an id from before run tokens")
	assert.Equal(t, "n1", old.Node)
	_, ok = InstanceOf("garbage")
	assert.False(t, ok)
}
