package campbus

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
)

// Command describes one command of the protocol: what the front-end checks
// before the request reaches its handler.
type Command struct {
	Name string
	// NeedsCheckin is true for every command but checkin: before a successful
	// checkin they get 403 not-checked-in.
	NeedsCheckin bool
	// RefusedAfterCheckin is true for checkin alone: a connection that is
	// checked in gets 409 already-checked-in.
	RefusedAfterCheckin bool
}

var commands = map[string]Command{
	CmdCheckin:     {Name: CmdCheckin, RefusedAfterCheckin: true},
	CmdCheckout:    {Name: CmdCheckout, NeedsCheckin: true},
	CmdMission:     {Name: CmdMission, NeedsCheckin: true},
	CmdPeerSession: {Name: CmdPeerSession, NeedsCheckin: true},
	CmdComplete:    {Name: CmdComplete, NeedsCheckin: true},
	CmdMessage:     {Name: CmdMessage, NeedsCheckin: true},
	CmdDirect:      {Name: CmdDirect, NeedsCheckin: true},
	CmdHistory:     {Name: CmdHistory, NeedsCheckin: true},
}

// LookupCommand returns the command with that name.
func LookupCommand(name string) (Command, bool) {
	c, ok := commands[name]
	return c, ok
}

// Commands returns the names of all commands.
func Commands() []string {
	return []string{CmdCheckin, CmdCheckout, CmdMission, CmdPeerSession, CmdComplete, CmdMessage, CmdDirect, CmdHistory}
}
