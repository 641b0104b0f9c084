package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/node"
)

// dialCamperWithToken connects with the client package and checks in as
// campID with a token of the secret camp.
func dialCamperWithToken(t *testing.T, addr, campID string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	c, err := client.Dial(ctx, addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	doOK(t, c, campbus.CmdCheckin, campbus.CheckinRequest{CampID: campID, Token: mintToken(t, campID, "--auth-secret", campSecret)})
	return c
}

// nextEventOf waits for c's next event of type typ, skipping others.
func nextEventOf(t *testing.T, c *client.Client, typ string) client.Event {
	t.Helper()
	deadline := time.After(e2eTimeout)
	for {
		select {
		case ev, ok := <-c.Events():
			require.True(t, ok, "the connection ended before a %s event", typ)
			if ev.Type == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event", typ)
		}
	}
}

// contains waits until the whole output contains want, consuming nothing:
// for a line whose place among the others is not fixed.
func (sc *scriptedConnect) contains(want string) {
	sc.t.Helper()
	deadline := time.NewTimer(e2eTimeout)
	defer deadline.Stop()
	for {
		out, changed := sc.stdout.snapshot()
		if strings.Contains(out, want) {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			sc.t.Fatalf("output never showed %q; it is:\n%s", want, out)
		}
	}
}

func TestConnectStaffSignsInAndRunsTheCamp(t *testing.T) {
	n := startSecretCamp(t)
	addr := n.Addr().String()
	staffToken := mintToken(t, "--staff", "김코치", "--auth-secret", campSecret)
	j004 := dialCamperWithToken(t, addr, "J004")
	j005 := dialCamperWithToken(t, addr, "J005")

	sc := startConnect(t, "--addr", addr, "--staff", "--token", staffToken)
	sc.expect("< signed in as staff 김코치 (the token holds until ")

	sc.send("board")
	// A join from before the sign-in may still reach the staff's screen,
	// before or after the echo of the command: the board's lines are one.
	sc.expect("> board\n")
	sc.expect("< board: 2 campers checked in, 1 group\n" +
		"<   group    members     session\n" +
		"<   group#1  J004, J005  -\n" +
		"<   nobody is muted\n")

	sc.send("announce 점심은 12시 30분")
	sc.expect("< announced to 2 campers in 1 group\n")
	sc.contains(`< announcement from 김코치 (staff), "점심은 12시 30분"`) // staff hear their own, before or after the response
	for _, c := range []*client.Client{j004, j005} {
		ev := nextEventOf(t, c, campbus.EventAnnouncement)
		assert.Equal(t, "점심은 12시 30분", ev.Text)
		assert.Equal(t, "김코치", ev.From)
	}

	sc.send("mute J005 10")
	sc.expect("< J005 muted until ")
	nextEventOf(t, j005, campbus.EventMuted)
	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	resp, err := j005.Do(ctx, campbus.CmdMessage, campbus.MessageRequest{Text: "hello"})
	require.NoError(t, err)
	require.NotNil(t, resp.Err, "a muted camper's message is refused")
	assert.Equal(t, 403, resp.Status)
	assert.Equal(t, campbus.CodeMuted, resp.Err.Code)

	sc.send("board")
	sc.expect("<   muted: J005 until ")
	sc.expect(" (by 김코치)\n")

	// A camper's session and message, like every group event, show on the
	// staff's screen, and the board counts the messages.
	doOK(t, j004, campbus.CmdPeerSession, map[string]any{"maxCount": 3})
	sc.expect("< peersession started by J004 (maxCount=3)")
	doOK(t, j004, campbus.CmdMessage, campbus.MessageRequest{Text: "안녕"})
	sc.expect(`< message from J004, "안녕"`)
	sc.send("board")
	sc.expect("<   group#1  J004, J005  host J004, 1/3 messages\n")

	sc.send("mute J005 0")
	sc.expect("< J005 may write again (mute lifted)\n")

	// The message's offset, from the event the other camper got.
	leaked := nextEventOf(t, j005, campbus.EventMessage)
	sc.send(fmt.Sprintf("redact 1 %d", leaked.Offset))
	sc.expect(fmt.Sprintf("< the message at offset %d of group#1 is redacted: history shows it without its text\n", leaked.Offset))
	sc.contains(fmt.Sprintf("< 김코치 (staff) redacted the message at offset %d of group#1", leaked.Offset))
	sc.send("redact 1 1")
	sc.expect("< redact failed: ")

	sc.send("kick J005 flooding the chat")
	sc.expect("< J005 checked out of group#1 and disconnected\n")
	sc.contains("< J005 left group#1 (kicked by staff)")
	ev := nextEventOf(t, j005, campbus.EventKicked)
	assert.Equal(t, "flooding the chat", ev.Reason)
	select {
	case <-j005.Done():
	case <-time.After(e2eTimeout):
		t.Fatal("the kicked camper's connection stays open")
	}

	sc.send("revoke J005")
	sc.expect("< J005's tokens issued up to ")
	sc.expect(" are refused from now on\n")

	sc.send("kick J005")
	sc.expect("< kick failed: ")
	sc.expect("< hint: board shows who is checked in\n")
	sc.send("mute J004")
	sc.expect("< usage: mute <campId> <minutes>, e.g. mute J004 10\n")
	sc.send("mission 4")
	sc.expect(`< unknown command "mission"; type help to see the commands`)
	sc.send("quit")
	require.NoError(t, sc.wait())
}

func TestConnectStaffHelpListsTheStaffsCommandsOnly(t *testing.T) {
	n := startSecretCamp(t)
	staffToken := mintToken(t, "--staff", "Mina", "--auth-secret", campSecret)
	var stdout bytes.Buffer
	require.NoError(t, runConnectForTest(t, []string{"--addr", n.Addr().String(), "--staff", "--json", "--token", staffToken},
		strings.NewReader("help\n"), &stdout))
	lines := transcriptLines(stdout.String())
	require.Len(t, lines, 2, "the sign-in, then help: %s", stdout.String())
	var help jsonHelp
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &help))
	var names []string
	for _, c := range help.Commands {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"board", "announce", "mute", "kick", "redact", "revoke", "quit", "help"}, names)
	for _, c := range campbus.Commands() {
		if c.Staff {
			assert.Equal(t, c.Usage, lookupHelp(c.Name).Usage, "help comes from campbus's table")
		}
	}

	// A camper's help keeps the staff's commands out, as it did.
	for _, c := range commandHelps {
		assert.NotContains(t, []string{campbus.CmdStaff, campbus.CmdBoard, campbus.CmdAnnounce, campbus.CmdMute, campbus.CmdKick}, c.Name)
	}
	assert.Equal(t, []string{"announce"}, staffCommands.completions("ann"))
	assert.Empty(t, completions("ann"))
	assert.Equal(t, "kick", staffCommands.suggest("kik"))
}

func TestConnectStaffWithJSONWritesResponsesAndEvents(t *testing.T) {
	n := startSecretCamp(t)
	addr := n.Addr().String()
	staffToken := mintToken(t, "--staff", "Mina", "--auth-secret", campSecret)
	dialCamperWithToken(t, addr, "J004")

	sc := startConnect(t, "--addr", addr, "--staff", "--json", "--token", staffToken)
	signedIn := sc.expectJSON(t, func(l map[string]any) bool { return l["kind"] == "response" })
	assert.Equal(t, campbus.CmdStaff, signedIn["command"])
	assert.Equal(t, "Mina", signedIn["body"].(map[string]any)["name"])

	sc.send("board")
	board := sc.expectJSON(t, func(l map[string]any) bool { return l["command"] == campbus.CmdBoard })
	assert.EqualValues(t, 200, board["status"])
	assert.EqualValues(t, 1, board["body"].(map[string]any)["checkedIn"])

	// The event of a staff command may come before its response or after.
	sc.send("announce lunch")
	announced := sc.expectJSON(t, func(l map[string]any) bool { return l["command"] == campbus.CmdAnnounce })
	assert.EqualValues(t, 1, announced["body"].(map[string]any)["reached"])
	sc.contains(`{"kind":"event","type":"announcement","body":{"type":"announcement","group":1,"from":"Mina","text":"lunch",`)

	sc.send("kick J004")
	kicked := sc.expectJSON(t, func(l map[string]any) bool { return l["command"] == campbus.CmdKick })
	assert.EqualValues(t, 200, kicked["status"])
	sc.contains(`{"kind":"event","type":"checkout","body":{"type":"checkout",`)
	assert.Contains(t, sc.stdout.String(), `"reason":"kicked"`)

	sc.send("kick")
	mistake := sc.expectJSON(t, func(l map[string]any) bool { return l["kind"] == "error" })
	assert.Equal(t, "usage: kick <campId> [reason], e.g. kick J004 flooding", mistake["error"])
	sc.send("quit")
	require.NoError(t, sc.wait())
}

func TestConnectStaffWithACampersTokenEndsWithStatus3WhenPiped(t *testing.T) {
	n := startSecretCamp(t)
	camperToken := mintToken(t, "J004", "--auth-secret", campSecret)

	sc := startConnect(t, "--addr", n.Addr().String(), "--staff", "--token", camperToken)
	sc.expect("< staff failed: ")
	sc.expect("< hint: give a staff token (campbus token --staff NAME mints one) with --token or CAMPBUS_TOKEN\n")
	var refused *checkinRefused
	require.ErrorAs(t, sc.wait(), &refused, "a piped staff sign-in that is refused ends at once")
	assert.Equal(t, exitCheckinRefused, refused.ExitCode())
	assert.Equal(t, campbus.CodeBadToken, refused.cause.Code)
	assert.Contains(t, refused.Error(), "connect: staff sign-in refused (401 bad-token): ")
	assert.NotContains(t, sc.stdout.String(), promptStaffToken, "no prompt in a script")

	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", n.Addr().String(), "--staff", "--json", "--token", camperToken},
		strings.NewReader("board\n"), &stdout)
	require.ErrorAs(t, err, &refused)
	lines := transcriptLines(stdout.String())
	require.Len(t, lines, 2, "%s", stdout.String())
	var fatal jsonFatal
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &fatal))
	assert.Equal(t, jsonFatal{Kind: "error", Error: refused.Error(), Status: 401, Code: campbus.CodeBadToken, Exit: 3}, fatal)
}

func TestConnectStaffTakesNoCampID(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := runConnect(context.Background(), []string{"--staff", "J004"}, strings.NewReader(""), &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "takes no campId")
}

// On a terminal, with no token given, the client asks for the staff token
// unseen and asks again when it is refused; Tab completes the staff's
// commands.
func TestConnectStaffInTmuxAsksForTheTokenAndTabCompletesAnnounce(t *testing.T) {
	n := startSecretCamp(t)
	bin := buildCampbus(t)
	staffToken := mintToken(t, "--staff", "Mina", "--auth-secret", campSecret)
	camperToken := mintToken(t, "J004", "--auth-secret", campSecret)
	scr := startTmux(t, []string{"CAMPBUS_TOKEN="}, bin, "connect", "--staff", "--addr", n.Addr().String())
	scr.waitForLastLine(promptStaffToken)

	scr.typeText(camperToken)
	scr.press("Enter")
	scr.waitForLastLine(promptStaffToken, "< hint: give a staff token (campbus token --staff NAME mints one) with --token or CAMPBUS_TOKEN")

	scr.typeText(staffToken)
	scr.press("Enter")
	lines := scr.waitFor("the sign-in", func(lines []string) bool {
		return strings.HasPrefix(lineWith(lines, "< signed in as staff Mina"), "< signed in") && lines[len(lines)-1] == ">"
	})
	screen := strings.Join(lines, "\n")
	for _, secret := range []string{staffToken, camperToken, staffToken[len(staffToken)-12:]} {
		assert.NotContains(t, screen, secret, "what is typed at the token prompt is never shown")
	}

	scr.typeText("ann")
	scr.press("Tab")
	scr.waitForLastLine("> announce")
	scr.typeText("lunch")
	scr.press("Enter")
	scr.waitFor("the announcement's response", func(lines []string) bool {
		return lineWith(lines, "< announced to 0 campers in 0 groups") != ""
	})
	scr.typeText("quit")
	scr.press("Enter")
	assert.Equal(t, "0", scr.exitStatus())
}

// After a restart the staff client connects again and signs in again with
// its token; the events after it are shown live again.
func TestConnectStaffSignsInAgainAfterARestart(t *testing.T) {
	dir := t.TempDir()
	secret := func(o *node.Options) { o.AuthSecret = campSecret; o.DataDir = dir }
	n := startE2ENode(t, secret)
	staffToken := mintToken(t, "--staff", "Mina", "--auth-secret", campSecret)

	sc := startConnect(t, "--addr", n.Addr().String(), "--staff", "--token", staffToken)
	sc.expect("< signed in as staff Mina")
	n = restartE2ENode(t, n, dir, secret)
	sc.expect("< server shutting down\n< the server is shutting down; reconnecting (Ctrl-D stops)\n")
	sc.expect("; signed in again as staff Mina\n")

	dialCamperWithToken(t, n.Addr().String(), "J004")
	sc.expect("< J004 joined group#1 (members: J004)\n")
	sc.send("board")
	sc.expect("< board: 1 camper checked in, 1 group\n")
	sc.send("quit")
	require.NoError(t, sc.wait())
}

func TestBoardReadsAsATable(t *testing.T) {
	assert.Equal(t, []string{
		"< board: 0 campers checked in, 0 groups",
		"<   no group has members",
		"<   nobody is muted",
	}, boardLines(campbus.BoardResponse{}))
	assert.Equal(t, []string{
		"< board: 3 campers checked in, 2 groups",
		"<   group     members     session",
		"<   group#1   J071, J072  host J071, 0/3 messages",
		"<   group#12  J075        -",
		"<   muted: J072 until 2026-12-08T12:40:00Z (by 김코치)",
	}, boardLines(campbus.BoardResponse{
		Groups: []campbus.BoardGroup{
			{Group: 1, Members: []string{"J071", "J072"}, Session: &campbus.BoardSession{Host: "J071", MaxCount: 3}},
			{Group: 12, Members: []string{"J075"}},
		},
		CheckedIn: 3,
		Muted:     []campbus.MutedCamper{{CampID: "J072", Until: "2026-12-08T12:40:00Z", By: "김코치"}},
	}))
	assert.Contains(t, hintFor(campbus.CmdBoard, nil, &campbus.Error{Code: campbus.CodeForbidden}), "campbus token --staff NAME")
	assert.Empty(t, hintFor(campbus.CmdStaff, nil, &campbus.Error{Code: campbus.CodeForbidden}), "the server's sentence says the camp has no secret")
	assert.Equal(t, "for example: mute J004 10", hintFor(campbus.CmdMute, nil, &campbus.Error{Code: campbus.CodeBadMinutes}))
}
