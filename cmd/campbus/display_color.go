package main

// style is the role of a line of output; on a colour terminal its colour
// shows it, so that what others said stands apart from one's own results.
type style int

const (
	stylePlain  style = iota // echoed commands, help
	styleResult              // the answer to one's own command
	styleError               // a refused or mistyped command
	styleHint                // what to do about an error
	styleEvent               // what happened in the group: joins, leaves, sessions
	styleChat                // a message or direct from another camper
	styleTrace               // raw frames (--trace)
)

// sgr holds the Select Graphic Rendition parameters of each style. The eight
// basic colours look right on dark and light backgrounds alike.
var sgr = map[style]string{
	styleResult: "32",   // green
	styleError:  "31",   // red
	styleHint:   "33",   // yellow
	styleEvent:  "36",   // cyan
	styleChat:   "1;36", // bold cyan
	styleTrace:  "2",    // dim
}

// palette paints lines: in colour when colour is on, as they are otherwise.
type palette struct{ colour bool }

func (p palette) paint(st style, text string) string {
	code := sgr[st]
	if !p.colour || code == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// wantColour reports whether a terminal may be given colour: not when
// NO_COLOR is set to anything (https://no-color.org) nor when TERM is dumb.
// Pipes and files never get colour; the caller checks for a terminal.
func wantColour(getenv func(string) string) bool {
	return getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}
