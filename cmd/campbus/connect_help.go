package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/campbus/campbus"
)

// commandHelp describes one command of the client for help, usage lines and
// completion.
type commandHelp struct {
	Name    string `json:"name"`
	Usage   string `json:"usage"`
	Example string `json:"example"`
	About   string `json:"about"`
}

// commandSet is the commands one mode of the client offers, in the order
// help shows them; help, completion and suggestions read it.
type commandSet []commandHelp

// camperCommands are a camper's: the protocol's commands, from campbus's
// command table, then the client's own. The staff's commands are not a
// camper's.
var camperCommands = buildCommands(false)

// staffCommands are those of connect --staff: the staff commands of the
// table (staff itself the client sends at sign-in), then the client's own.
var staffCommands = buildCommands(true)

// commandHelps is the camper's list, the client's default.
var commandHelps = camperCommands

func buildCommands(staff bool) commandSet {
	var out commandSet
	for _, c := range campbus.Commands() {
		if c.Staff != staff || c.Name == campbus.CmdStaff {
			continue
		}
		out = append(out, commandHelp{c.Name, c.Usage, c.Example, c.About})
	}
	quit := commandHelp{"quit", "quit", "quit", "leave without checkout"}
	if staff {
		quit.About = "leave"
	}
	return append(out, quit, commandHelp{"help", "help", "help", "show this list"})
}

// helpIntro heads the list of commands.
const helpIntro = "commands:"

// helpKeys tells a person at the line editor what its keys do.
var helpKeys = []string{
	"< keys: ↑ ↓ earlier commands · Tab completes · Ctrl-A/E start/end · Ctrl-U/K/W delete",
	"<       Ctrl-L clears the screen · Ctrl-D on an empty line leaves",
}

// helpTable returns one line per command: its form, what it does and an
// example when the form has something to fill in.
func helpTable(commands []commandHelp) []string {
	lines := make([]string, 0, len(commands))
	for _, c := range commands {
		line := fmt.Sprintf("<   %-24s%-29s", c.Usage, c.About)
		if c.Example != c.Usage {
			line += "e.g. " + c.Example
		}
		lines = append(lines, strings.TrimRight(line, " "))
	}
	return lines
}

// lookupHelp returns the help of the named command, a camper's or a
// staff member's.
func lookupHelp(name string) commandHelp {
	for _, set := range []commandSet{camperCommands, staffCommands} {
		for _, c := range set {
			if c.Name == name {
				return c
			}
		}
	}
	return commandHelp{Name: name, Usage: name, Example: name}
}

// usageOf is the usage line of a command: its form and an example.
func usageOf(name string) string {
	c := lookupHelp(name)
	return fmt.Sprintf("usage: %s, e.g. %s", c.Usage, c.Example)
}

// completions returns the camper's command names that start with prefix.
func completions(prefix string) []string { return camperCommands.completions(prefix) }

// suggestCommand returns the camper's command a mistyped name most likely
// meant.
func suggestCommand(name string) string { return camperCommands.suggest(name) }

// completions returns the names of the set that start with prefix, sorted.
func (cs commandSet) completions(prefix string) []string {
	prefix = strings.ToLower(prefix)
	var names []string
	for _, c := range cs {
		if strings.HasPrefix(c.Name, prefix) {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}

// suggest returns the command of the set a mistyped name most likely meant:
// the only one it is a prefix of, or the nearest within two edits; "" if
// none.
func (cs commandSet) suggest(name string) string {
	name = strings.ToLower(name)
	if names := cs.completions(name); len(names) == 1 {
		return names[0]
	}
	best, bestDistance := "", 3
	for _, c := range cs {
		if d := editDistance(name, c.Name); d < bestDistance {
			best, bestDistance = c.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes (the
// command names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
