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

// commandHelps lists the client's commands in the order help shows them:
// the protocol's commands, from campbus's command table, then the client's
// own.
var commandHelps = func() []commandHelp {
	var out []commandHelp
	for _, c := range campbus.Commands() {
		if c.Staff || c.Name == campbus.CmdStaff {
			continue // a camper's client: the staff's commands are not its own
		}
		out = append(out, commandHelp{c.Name, c.Usage, c.Example, c.About})
	}
	return append(out,
		commandHelp{"quit", "quit", "quit", "leave without checkout"},
		commandHelp{"help", "help", "help", "show this list"})
}()

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

// lookupHelp returns the help of the named command.
func lookupHelp(name string) commandHelp {
	for _, c := range commandHelps {
		if c.Name == name {
			return c
		}
	}
	return commandHelp{Name: name, Usage: name, Example: name}
}

// usageOf is the usage line of a command: its form and an example.
func usageOf(name string) string {
	c := lookupHelp(name)
	return fmt.Sprintf("usage: %s, e.g. %s", c.Usage, c.Example)
}

// completions returns the command names that start with prefix, sorted.
func completions(prefix string) []string {
	prefix = strings.ToLower(prefix)
	var names []string
	for _, c := range commandHelps {
		if strings.HasPrefix(c.Name, prefix) {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}

// suggestCommand returns the command a mistyped name most likely meant: the
// only one it is a prefix of, or the nearest within two edits; "" if none.
func suggestCommand(name string) string {
	name = strings.ToLower(name)
	if names := completions(name); len(names) == 1 {
		return names[0]
	}
	best, bestDistance := "", 3
	for _, c := range commandHelps {
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
