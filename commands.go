package campbus

import (
	"net/http"
	"strings"
)

// Command names, as they appear in request paths (POST /<command>) and in
// bus subjects (req.<command>).
const (
	CmdCheckin     = "checkin"
	CmdCheckout    = "checkout"
	CmdMission     = "mission"
	CmdPeerSession = "peersession"
	CmdComplete    = "complete"
	CmdMessage     = "message"
	CmdDirect      = "direct"
	CmdHistory     = "history"
	// Staff commands (PROTOCOL.md §12).
	CmdStaff    = "staff"
	CmdBoard    = "board"
	CmdAnnounce = "announce"
	CmdMute     = "mute"
	CmdKick     = "kick"
	CmdRevoke   = "revoke"
	CmdRedact   = "redact"
)

// Command describes one command of the protocol: what a front-end checks
// before the request reaches its handler, and how a client explains it.
// The table below is the one list of commands: the front-ends' checks and
// their unknown-command sentence, the handlers' subscriptions (the handlers
// refuse to start if a command has no handler, or a handler no command) and
// the client's help and completion are all built from it.
type Command struct {
	Name string
	// NeedsCheckin is true for every command but checkin: before a successful
	// checkin they get 403 not-checked-in.
	NeedsCheckin bool
	// RefusedAfterCheckin is true for checkin alone: a connection that is
	// checked in gets 409 already-checked-in.
	RefusedAfterCheckin bool
	// Staff is true for the staff commands: they work only on a connection
	// signed in as staff (the staff command), and get 403 forbidden
	// anywhere else.
	Staff bool
	// Repeatable is true for the commands that do, sent twice, what they
	// do sent once: a client may send one again by itself after 503
	// unavailable (PROTOCOL.md §11). A message, direct, announcement, or
	// a session's start or end answered 503 may have been stored: sent
	// again, it could count twice.
	Repeatable bool
	// Usage is the command's form in the client ("mission <day>"), Example
	// one that works, About what it does, in a few words.
	Usage, Example, About string
}

// commandTable lists the commands in the order a client's help shows them:
// the everyday ones first.
var commandTable = []Command{
	{Name: CmdMission, Repeatable: true, NeedsCheckin: true, Usage: "mission <day>", Example: "mission 4", About: "keywords of a day's mission"},
	{Name: CmdPeerSession, NeedsCheckin: true, Usage: "peersession <maxCount>", Example: "peersession 2", About: "start a session, as host"},
	{Name: CmdMessage, NeedsCheckin: true, Usage: "message <text>", Example: "message 안녕하세요", About: "send to the group's session"},
	{Name: CmdComplete, NeedsCheckin: true, Usage: "complete", Example: "complete", About: "end the session you host"},
	{Name: CmdDirect, NeedsCheckin: true, Usage: "direct <campId> <text>", Example: "direct J005 hello", About: "send to one camper"},
	{Name: CmdHistory, Repeatable: true, NeedsCheckin: true, Usage: "history [N]", Example: "history 20", About: "last N events and directs"},
	{Name: CmdCheckin, Repeatable: true, RefusedAfterCheckin: true, Usage: "checkin <campId>", Example: "checkin J004", About: "check in (done at start)"},
	{Name: CmdCheckout, Repeatable: true, NeedsCheckin: true, Usage: "checkout", Example: "checkout", About: "check out, show active time"},
	{Name: CmdStaff, Repeatable: true, RefusedAfterCheckin: true, Usage: "staff <token>", Example: "staff eyJhbGciOi...", About: "sign in as staff, with a staff token"},
	{Name: CmdBoard, Repeatable: true, Staff: true, Usage: "board", Example: "board", About: "groups, members, sessions and mutes"},
	{Name: CmdAnnounce, Staff: true, Usage: "announce <text>", Example: "announce 점심은 12시 30분", About: "tell every checked-in camper"},
	{Name: CmdMute, Repeatable: true, Staff: true, Usage: "mute <campId> <minutes>", Example: "mute J004 10", About: "silence a camper's messages and directs (0 lifts it)"},
	{Name: CmdKick, Repeatable: true, Staff: true, Usage: "kick <campId> [reason]", Example: "kick J004 flooding", About: "check a camper out and close its connection"},
	{Name: CmdRedact, Repeatable: true, Staff: true, Usage: "redact <group> <offset>", Example: "redact 1 12", About: "take a message's text out of the log"},
	{Name: CmdRevoke, Repeatable: true, Staff: true, Usage: "revoke <campId>", Example: "revoke J004", About: "refuse a camper's tokens issued so far, and close it"},
}

// LookupCommand returns the command with that name.
func LookupCommand(name string) (Command, bool) {
	for _, c := range commandTable {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// Commands returns every command, in help order.
func Commands() []Command {
	out := make([]Command, len(commandTable))
	copy(out, commandTable)
	return out
}

// CommandNames returns the names of every command, in help order.
func CommandNames() []string {
	names := make([]string, len(commandTable))
	for i, c := range commandTable {
		names[i] = c.Name
	}
	return names
}

// UnknownCommand is the 404 for a request naming no command; its sentence
// lists the commands there are.
func UnknownCommand(name string) *Error {
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	return Errorf(http.StatusNotFound, CodeUnknownCommand,
		"unknown command %q; commands are %s", name, strings.Join(CommandNames(), ", "))
}
