package main

import (
	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
)

// view shows what happens in a session: lines for people (humanView) or one
// JSON object per line for programs (jsonView). The session calls it from
// its own goroutine.
type view interface {
	// echo shows a command line after its prompt. typed is false for a line
	// the client wrote itself (the checkin of a campId given as argument).
	echo(prompt, line string, typed bool)
	// result shows a successful response; lines are its human form.
	result(command string, resp *client.Response, lines ...textLine)
	// failure shows an error response and hint, what to do about it.
	failure(command string, resp *client.Response, hint string)
	// event shows an event as it arrives.
	event(ev client.Event)
	// mistake shows why a line was not sent (wrong usage, unknown command).
	mistake(text, hint string)
	// help shows intro and the commands.
	help(intro string, commands []commandHelp)
	// connection tells what became of the connection (lost, back...).
	connection(note connectionNote)
	// missed shows an event that happened while the camper was away.
	missed(ev client.Event)
	// retrying tells that a request is sent again after a pause (503
	// unavailable); a person is told once per request.
	retrying(note retryNote)
	// fatal tells that a refused checkin ends the client; the refusal
	// itself was shown by failure.
	fatal(refused *checkinRefused)
}

// textLine is one line of human output and its style.
type textLine struct {
	style style
	text  string
}

func resultLines(texts ...string) []textLine {
	lines := make([]textLine, len(texts))
	for i, t := range texts {
		lines[i] = textLine{styleResult, t}
	}
	return lines
}

// humanView writes the lines MISSION-SPEC §3 shows, painted by style.
type humanView struct {
	con console
	pal palette
	// echoTyped is set when the console does not show typed lines itself
	// (a script): the transcript then shows each command after its prompt.
	echoTyped bool
	// keys is set when a person types on the line editor: help lists its keys.
	keys bool
}

func (h *humanView) echo(prompt, line string, typed bool) {
	if typed && !h.echoTyped {
		return
	}
	h.con.Print(prompt + line)
}

func (h *humanView) result(_ string, _ *client.Response, lines ...textLine) {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = h.pal.paint(l.style, l.text)
	}
	h.con.Print(out...)
}

func (h *humanView) failure(command string, resp *client.Response, hint string) {
	h.withHint(failedLine(command, resp.Err), hint)
}

func (h *humanView) event(ev client.Event) {
	st := styleEvent
	if ev.Type == campbus.EventMessage || ev.Type == campbus.EventDirect {
		st = styleChat
	}
	h.con.Print(h.pal.paint(st, formatEvent(ev)))
}

func (h *humanView) mistake(text, hint string) { h.withHint("< "+text, hint) }

func (h *humanView) connection(note connectionNote) {
	st := styleHint
	switch note.State {
	case "lost", "stopped":
		st = styleError
	case "reconnected":
		st = styleResult
	}
	h.con.Print(h.pal.paint(st, "< "+note.Text))
}

func (h *humanView) missed(ev client.Event) {
	h.con.Print(h.pal.paint(styleEvent, "< (missed) "+describeEvent(ev, false)))
}

func (h *humanView) retrying(note retryNote) {
	if note.Attempt == 1 {
		h.con.Print(h.pal.paint(styleHint, "< "+note.Text))
	}
}

// fatal adds nothing: the refusal is on screen, and main writes the
// reason on stderr.
func (h *humanView) fatal(*checkinRefused) {}

func (h *humanView) withHint(line, hint string) {
	lines := []string{h.pal.paint(styleError, line)}
	if hint != "" {
		lines = append(lines, h.pal.paint(styleHint, "< hint: "+hint))
	}
	h.con.Print(lines...)
}

func (h *humanView) help(intro string, commands []commandHelp) {
	lines := append([]string{"< " + intro}, helpTable(commands)...)
	if h.keys && len(commands) > 0 {
		lines = append(lines, helpKeys...)
	}
	h.con.Print(lines...)
}
