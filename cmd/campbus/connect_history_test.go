package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/campbus/campbus"
)

func TestHistoryLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events []string
		want   []string
	}{
		{"no events shows only the header", nil, []string{`< history (0 events)`}},
		{"one event is singular", []string{`{"type":"message","group":1,"from":"J005","text":"hi","seq":1,"remaining":9}`},
			[]string{`< history (1 event)`, `<   message from J005, "hi"`}},
		{"each event is shown as it was live, indented", []string{
			`{"type":"join","group":1,"campId":"J005","members":["J004","J005"]}`,
			`{"type":"peersession","group":1,"host":"J004","maxCount":2}`,
			`{"type":"message","group":1,"from":"J005","text":"반갑습니다","seq":1,"remaining":1}`,
			`{"type":"complete","group":1,"host":"J004","reason":"complete","messages":1}`,
			`{"type":"checkout","group":1,"campId":"J005","reason":"disconnect"}`,
			`{"type":"complete","group":1,"host":"J004","reason":"host-left","messages":0}`,
			`{"type":"checkout","group":1,"campId":"J004","reason":"checkout"}`,
		}, []string{
			`< history (7 events)`,
			`<   J005 joined group#1 (members: J004, J005)`,
			`<   peersession started by J004 (maxCount=2)`,
			`<   message from J005, "반갑습니다"`,
			`<   peersession completed by J004 (1 message)`,
			`<   J005 left group#1 (disconnected)`,
			`<   peersession ended, host J004 left (0 messages)`,
			`<   J004 left group#1`,
		}},
		{"a direct names its sender and its recipient", []string{
			`{"type":"direct","from":"J005","to":"J004","text":"hello"}`,
			`{"type":"direct","from":"J004","to":"J005","text":"hi there"}`,
		}, []string{
			`< history (2 events)`,
			`<   direct from J005 to J004, "hello"`,
			`<   direct from J004 to J005, "hi there"`,
		}},
		{"a direct without a recipient is shown as a live one", []string{`{"type":"direct","from":"J005","text":"hello"}`},
			[]string{`< history (1 event)`, `<   direct from J005, "hello"`}},
		{"control characters in a stored text are escaped", []string{`{"type":"message","from":"J005","text":"a\nb\u001b[2J"}`},
			[]string{`< history (1 event)`, `<   message from J005, "a\nb\x1b[2J"`}},
		{"an event of an unknown type is shown raw", []string{`{"type":"poll","q":"lunch?"}`},
			[]string{`< history (1 event)`, `<   poll event {"type":"poll","q":"lunch?"}`}},
		{"an event without a type is shown raw", []string{`{"q":"lunch?"}`, `[1,2]`},
			[]string{`< history (2 events)`, `<   unknown event {"q":"lunch?"}`, `<   unknown event [1,2]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := make([]json.RawMessage, len(tc.events))
			for i, e := range tc.events {
				events[i] = json.RawMessage(e)
			}
			assert.Equal(t, tc.want, historyLines(events))
		})
	}
}

func TestConnectE2EHistoryShowsTheGroupsEventsAndTheDirects(t *testing.T) {
	verifyNoLeaks(t)
	n := startE2ENode(t)
	sc := startConnect(t, "--addr", n.Addr().String(), "J004")
	sc.expect("> checkin J004\n< checkin success to group#1 (members: J004)\n")

	j005, _ := dialCamper(t, n, "J005")
	sc.expect("< J005 joined group#1 (members: J004, J005)\n")
	sc.send("peersession 5")
	sc.expect("< peersession started (maxCount=5)\n")
	expectEvent(t, j005, campbus.EventPeerSession)

	doOK(t, j005, campbus.CmdMessage, campbus.MessageRequest{Text: "반갑습니다"})
	sc.expect(`< message from J005, "반갑습니다"` + "\n")
	sc.send("message 안녕하세요")
	sc.expect("< message sent (seq 2, 3 remaining, delivered to 1)\n")
	expectEvent(t, j005, campbus.EventMessage)
	doOK(t, j005, campbus.CmdDirect, campbus.DirectRequest{CampID: "J004", Text: "hello"})
	sc.expect(`< direct from J005, "hello"` + "\n")
	sc.send("direct J005 hi there")
	sc.expect("< direct (success)\n")
	expectEvent(t, j005, campbus.EventDirect)

	all := "< history (7 events)\n" +
		"<   J004 joined group#1 (members: J004)\n" +
		"<   J005 joined group#1 (members: J004, J005)\n" +
		"<   peersession started by J004 (maxCount=5)\n" +
		`<   message from J005, "반갑습니다"` + "\n" +
		`<   message from J004, "안녕하세요"` + "\n" +
		`<   direct from J005 to J004, "hello"` + "\n" +
		`<   direct from J004 to J005, "hi there"` + "\n"
	sc.send("history 10")
	sc.expect("> history 10\n" + all)

	// N keeps the last N, oldest first.
	sc.send("history 3")
	sc.expect("> history 3\n< history (3 events)\n" +
		`<   message from J004, "안녕하세요"` + "\n" +
		`<   direct from J005 to J004, "hello"` + "\n" +
		`<   direct from J004 to J005, "hi there"` + "\n")

	// Without N the server's default (50) covers them all.
	sc.send("history")
	sc.expect("> history\n" + all)

	// The server judges N and the client shows its sentence.
	sc.send("history 0")
	sc.expect("> history 0\n" + `< history failed: "limit" must be an integer from 1 to 1000` + "\n" +
		"< hint: for example: history 20\n")
	sc.send("history ten")
	sc.expect("> history ten\n" + `< history failed: "limit" must be an integer from 1 to 1000` + "\n")
	sc.send("history 1 2")
	sc.expect("> history 1 2\n< usage: history [N], e.g. history 20")

	sc.send("help")
	sc.expect("<   history [N]   ")

	sc.send("checkout")
	sc.expect("> checkout\n< checkout (disconnected)\n< active time ")
	assert.NoError(t, sc.wait(), "checkout ends the client with exit status 0")
	assert.Empty(t, sc.stderr.String(), "nothing on stderr")
}
