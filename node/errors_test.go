package node

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

// TestEveryErrorOfTheProtocol walks PROTOCOL.md §3 row by row, each on a
// fresh connection of one server, and checks that the connection stays
// usable after every recoverable error.
func TestEveryErrorOfTheProtocol(t *testing.T) {
	n := startNode(t, Options{})
	host := dial(t, n)
	host.checkin("J100")
	host.ok(campbus.CmdPeerSession, map[string]int{"maxCount": 1}, nil)
	member := dial(t, n)
	member.checkin("J101")
	host.expect(campbus.EventJoin)

	type step struct {
		name, command, body string
		status              int
		code                string
	}
	checkedIn := []step{
		{"a body that is not JSON", "mission", `{"day":`, 400, campbus.CodeBadRequest},
		{"a body that is a JSON array", "mission", `[4]`, 400, campbus.CodeBadRequest},
		{"a body that is JSON null", "message", `null`, 400, campbus.CodeBadRequest},
		{"a body that is not UTF-8", "message", "{\"text\":\"\xff\"}", 400, campbus.CodeBadRequest},
		{"a message without text", "message", `{}`, 400, campbus.CodeBadRequest},
		{"a message whose text is a number", "message", `{"text":5}`, 400, campbus.CodeBadRequest},
		{"a message with empty text", "message", `{"text":""}`, 400, campbus.CodeBadRequest},
		{"a direct without campId", "direct", `{"text":"x"}`, 400, campbus.CodeBadCampID},
		{"a direct to a malformed campId", "direct", `{"campId":"K005","text":"x"}`, 400, campbus.CodeBadCampID},
		{"a direct without text", "direct", `{"campId":"J005"}`, 400, campbus.CodeBadRequest},
		{"a direct to nobody checked in", "direct", `{"campId":"J384","text":"x"}`, 404, campbus.CodeTargetNotCheckedIn},
		{"a mission without day", "mission", `{}`, 400, campbus.CodeBadDay},
		{"a mission on day zero", "mission", `{"day":0}`, 400, campbus.CodeBadDay},
		{"a mission on a negative day", "mission", `{"day":-3}`, 400, campbus.CodeBadDay},
		{"a mission on a fractional day", "mission", `{"day":4.5}`, 400, campbus.CodeBadDay},
		{"a mission on a day given as a string", "mission", `{"day":"4"}`, 400, campbus.CodeBadDay},
		{"a mission on a day without one", "mission", `{"day":5}`, 404, campbus.CodeNoMission},
		{"a mission past the last day", "mission", `{"day":99}`, 404, campbus.CodeNoMission},
		{"a peersession without maxCount", "peersession", `{}`, 400, campbus.CodeBadMaxCount},
		{"a peersession with maxCount 0", "peersession", `{"maxCount":0}`, 400, campbus.CodeBadMaxCount},
		{"a peersession with maxCount over 10000", "peersession", `{"maxCount":10001}`, 400, campbus.CodeBadMaxCount},
		{"a peersession while one runs", "peersession", `{"maxCount":3}`, 409, campbus.CodeSessionActive},
		{"complete from a camper who is not the host", "complete", ``, 403, campbus.CodeNotHost},
		{"a second checkin on the connection", "checkin", `{"campId":"J102"}`, 409, campbus.CodeAlreadyCheckedIn},
		{"an unknown command", "dance", `{}`, 404, campbus.CodeUnknownCommand},
	}
	for _, s := range checkedIn {
		t.Run(s.name+" gets "+s.code, func(t *testing.T) {
			member.fails(s.command, s.body, s.status, s.code)
		})
	}
	member.ok(campbus.CmdMessage, `{"text":"still here"}`, nil)
	assert.Equal(t, "still here", host.expect(campbus.EventMessage).Text)
	member.fails(campbus.CmdMessage, `{"text":"over"}`, 409, campbus.CodeLimitReached)

	fresh := dial(t, n)
	notYet := []step{
		{"checkin without campId", "checkin", `{}`, 400, campbus.CodeBadCampID},
		{"checkin with no body at all", "checkin", ``, 400, campbus.CodeBadCampID},
		{"checkin with a campId that is a number", "checkin", `{"campId":4}`, 400, campbus.CodeBadCampID},
		{"checkin with a lowercase campId", "checkin", `{"campId":"j004"}`, 400, campbus.CodeBadCampID},
		{"checkin with too few digits", "checkin", `{"campId":"J04"}`, 400, campbus.CodeBadCampID},
		{"checkin below the range", "checkin", `{"campId":"J000"}`, 400, campbus.CodeBadCampID},
		{"checkin above the range", "checkin", `{"campId":"J385"}`, 400, campbus.CodeBadCampID},
		{"checkin with a campId checked in elsewhere", "checkin", `{"campId":"J100"}`, 409, campbus.CodeCampIDInUse},
		{"checkin with a body that is not JSON", "checkin", `campId=J004`, 400, campbus.CodeBadRequest},
		{"mission before checkin", "mission", `{"day":4}`, 403, campbus.CodeNotCheckedIn},
		{"message before checkin", "message", `{"text":"x"}`, 403, campbus.CodeNotCheckedIn},
		{"checkout before checkin", "checkout", ``, 403, campbus.CodeNotCheckedIn},
		{"a bad body before checkin is still not-checked-in", "mission", `{"day":`, 403, campbus.CodeNotCheckedIn},
		{"an unknown command before checkin", "dance", ``, 404, campbus.CodeUnknownCommand},
	}
	for _, s := range notYet {
		t.Run(s.name+" gets "+s.code, func(t *testing.T) {
			fresh.fails(s.command, s.body, s.status, s.code)
		})
	}
	e := fresh.fails(campbus.CmdCheckin, `{"campId":"J385"}`, 400, campbus.CodeBadCampID)
	assert.Contains(t, e.Message, "J001-J384", "the sentence names the range")

	t.Run("a method other than POST gets method-not-allowed", func(t *testing.T) {
		fresh.send("GET /mission HTTP/1.1\r\n\r\n")
		requireError(t, fresh.response(), 405, campbus.CodeMethodNotAllowed)
		fresh.send("GET /nothing HTTP/1.1\r\n\r\n")
		requireError(t, fresh.response(), 404, campbus.CodeUnknownCommand)
	})
	t.Run("the connection is usable after all of that", func(t *testing.T) {
		assert.Equal(t, 1, fresh.checkin("J004"))
	})
}

func TestFrameErrorsCloseTheConnection(t *testing.T) {
	n := startNode(t, Options{})
	bystanders := group(t, n, "J001", "J002")
	cases := []struct {
		name, raw string
		status    int
	}{
		{"a header line of 5 KB", "POST /checkin HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 5000) + "\r\n\r\n", 431},
		{"a body of 2 KB", "POST /message HTTP/1.1\r\nContent-Length: 2048\r\n\r\n" + strings.Repeat("a", 2048), 413},
		{"a start line that is not HTTP", "HELLO\r\n\r\n", 400},
		{"random bytes", "\x00\x01\x02\xff\xfe garbage\r\n\r\n", 400},
		{"a bad Content-Length", "POST /checkin HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400},
		{"Transfer-Encoding", "POST /checkin HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name+" gets "+campbus.StatusText(tc.status)+" and a close", func(t *testing.T) {
			c := dial(t, n)
			c.send(tc.raw)
			f := c.response()
			require.Equal(t, tc.status, f.Status, "body %s", f.Body)
			c.closed()
		})
	}
	t.Run("a client vanishing mid-frame hurts nobody", func(t *testing.T) {
		c := dial(t, n)
		c.send("POST /checkin HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"campId\"")
		c.conn.Close()
	})
	// The bystanders never noticed any of it.
	bystanders[0].ok(campbus.CmdPeerSession, map[string]int{"maxCount": 1}, nil)
	assert.Equal(t, "J001", bystanders[1].expect(campbus.EventPeerSession).Host)
}

func TestPipelinedRequestsAreAnsweredInOrderWithTheirIDs(t *testing.T) {
	n := startNode(t, Options{})
	c := dial(t, n)
	c.send("POST /checkin HTTP/1.1\r\nRequest-Id: a1\r\nContent-Length: 17\r\n\r\n{\"campId\":\"J004\"}" +
		"POST /mission HTTP/1.1\nrequest-id: a2\ncontent-length: 9\n\n{\"day\":4}" +
		"POST /mission HTTP/1.1\r\nHost: example\r\nRequest-Id: a3\r\nContent-Length: 9\r\n\r\n{\"day\":5}" +
		"POST /checkout HTTP/1.1\r\nRequest-Id: a4\r\n\r\n")
	for _, want := range []struct {
		id     string
		status int
	}{{"a1", 200}, {"a2", 200}, {"a3", 404}, {"a4", 200}} {
		f := c.response()
		assert.Equal(t, want.status, f.Status, "response %s: %s", want.id, f.Body)
		assert.Equal(t, want.id, f.Get("Request-Id"))
	}
	c.closed()
}
