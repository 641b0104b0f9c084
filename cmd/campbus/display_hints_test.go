package main

import (
	"context"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
)

func TestWantColour(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"a terminal gets colour", map[string]string{"TERM": "xterm-256color"}, true},
		{"NO_COLOR turns it off", map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, false},
		{"an empty NO_COLOR does not count", map[string]string{"TERM": "xterm", "NO_COLOR": ""}, true},
		{"a dumb terminal gets none", map[string]string{"TERM": "dumb"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, wantColour(func(k string) string { return tc.env[k] }))
		})
	}
}

func TestPalettePaintsOnlyWhenColourIsOn(t *testing.T) {
	assert.Equal(t, "\x1b[31m< mission failed\x1b[0m", palette{colour: true}.paint(styleError, "< mission failed"))
	assert.Equal(t, "< mission failed", palette{}.paint(styleError, "< mission failed"))
	assert.Equal(t, "> mission 4", palette{colour: true}.paint(stylePlain, "> mission 4"))
}

func TestHintsSayWhatToDo(t *testing.T) {
	for _, tc := range []struct {
		name, command string
		body          any
		code, want    string
	}{
		{"not checked in", campbus.CmdMission, nil, campbus.CodeNotCheckedIn, "check in first: checkin J004"},
		{"a campId in use suggests the next", campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J004"}, campbus.CodeCampIDInUse,
			"someone is using J004; pick another campId, e.g. J005"},
		{"a full session says so", campbus.CmdMessage, nil, campbus.CodeLimitReached,
			"the session is full; its host ends it with complete, then anyone can start one: peersession 2"},
		{"a message without a session", campbus.CmdMessage, nil, campbus.CodeNoSession, "start a session first: peersession 2"},
		{"a bad day shows an example", campbus.CmdMission, nil, campbus.CodeBadDay, "for example: mission 4"},
		{"an out-of-range campId needs none: the server's sentence names the range", campbus.CmdCheckin, nil, campbus.CodeBadCampID, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, hintFor(tc.command, tc.body, &campbus.Error{Code: tc.code}))
		})
	}
}

func TestNextCampID(t *testing.T) {
	assert.Equal(t, "J005", nextCampID("J004"))
	assert.Equal(t, "J010", nextCampID("J009"))
	assert.Equal(t, "J00100", nextCampID("J00099"))
	assert.Equal(t, "", nextCampID("J999"), "no J1000 in a three-digit range")
	assert.Equal(t, "", nextCampID("j+04"))
	assert.Equal(t, "", nextCampID("J"))
}

func TestSuggestCommand(t *testing.T) {
	for typed, want := range map[string]string{
		"mision": "mission", "MESAGE": "message", "chekout": "checkout", "hist": "history", "peer": "peersession",
		"dance": "", "c": "",
	} {
		assert.Equal(t, want, suggestCommand(typed), "suggestion for %q", typed)
	}
}

func TestHelpHasOneLinePerCommandWithinEightyColumns(t *testing.T) {
	lines := helpTable(commandHelps)
	require.Len(t, lines, len(commandHelps))
	for _, l := range lines {
		assert.LessOrEqual(t, textWidth(l), 80, "%q", l)
	}
	assert.Contains(t, lines, "<   direct <campId> <text>  send to one camper           e.g. direct J005 hello")
	assert.Contains(t, lines, "<   checkout                check out, show active time")
}

func TestConnectSaysWhatToDoWhenNothingListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	err = runConnect(context.Background(), []string{"--addr", addr}, strings.NewReader(""), io.Discard, io.Discard)
	require.Error(t, err)
	assert.Equal(t, "nothing is listening on "+addr+": is the server running? try: campbus serve --addr "+addr, err.Error())
	assert.ErrorIs(t, err, syscall.ECONNREFUSED, "the cause is kept")
}

func TestHelpAndCompletionCoverTheCommandTable(t *testing.T) {
	lines := strings.Join(helpTable(commandHelps), "\n")
	for _, c := range campbus.Commands() {
		if c.Staff || c.Name == campbus.CmdStaff {
			assert.NotContains(t, lines, c.Usage, "a camper's help leaves out the staff's %s", c.Name)
			continue
		}
		assert.Contains(t, lines, c.Usage, "help shows %s", c.Name)
		assert.Contains(t, completions(c.Name[:2]), c.Name, "Tab completes %s", c.Name)
		assert.Equal(t, c.Example, lookupHelp(c.Name).Example)
	}
}
