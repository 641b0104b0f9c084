package campbus

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTheCommandTableIsWhole(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Commands() {
		assert.False(t, seen[c.Name], "%s listed twice", c.Name)
		seen[c.Name] = true
		assert.True(t, strings.HasPrefix(c.Usage, c.Name), "%s: usage %q starts with the name", c.Name, c.Usage)
		assert.True(t, strings.HasPrefix(c.Example, c.Name), "%s: example %q starts with the name", c.Name, c.Example)
		assert.NotEmpty(t, c.About, c.Name)
		if c.Staff {
			assert.False(t, c.NeedsCheckin || c.RefusedAfterCheckin, "%s: a staff command's connection holds no checkin", c.Name)
		} else {
			assert.NotEqual(t, c.NeedsCheckin, c.RefusedAfterCheckin, "%s: before checkin or after, never both", c.Name)
		}
		got, ok := LookupCommand(c.Name)
		assert.True(t, ok)
		assert.Equal(t, c, got)
	}
	for _, name := range []string{CmdCheckin, CmdCheckout, CmdMission, CmdPeerSession, CmdComplete, CmdMessage, CmdDirect, CmdHistory,
		CmdStaff, CmdBoard, CmdAnnounce, CmdMute, CmdKick, CmdRevoke, CmdRedact} {
		assert.True(t, seen[name], "%s is in the table", name)
	}
	assert.Equal(t, len(seen), len(CommandNames()))
}

func TestTheUnknownCommandSentenceNamesEveryCommand(t *testing.T) {
	e := UnknownCommand("dance")
	assert.Equal(t, 404, e.Status)
	assert.Equal(t, CodeUnknownCommand, e.Code)
	for _, name := range CommandNames() {
		assert.Contains(t, e.Message, name)
	}
	assert.Contains(t, UnknownCommand(strings.Repeat("x", 100)).Message, strings.Repeat("x", 64)+"...")
}
