package main

import (
	"io"
	"strings"
	"sync"
)

// lineEditor is the interactive console: a line editor on a terminal in raw
// mode. The line being typed stays at the bottom; everything printed goes
// above it and the prompt and line are drawn again below, so an event that
// arrives mid-word leaves the word intact. It redraws the whole line on each
// change, placing the cursor by the width of each character (Hangul and
// emoji take two columns), and moves and deletes whole grapheme clusters (a
// flag, an emoji family, a letter and its accent) as one. Up and Down recall earlier lines; Tab completes a command.
type lineEditor struct {
	in       io.Reader
	out      io.Writer
	width    func() int                   // the terminal's columns, asked at each redraw
	complete func(prefix string) []string // completions of the first word, or nil

	// mu guards everything below. ReadLine holds it except while it waits
	// for input, so that Print can show lines meanwhile.
	mu        sync.Mutex
	prompt    []rune
	line      []rune
	pos       int    // the cursor, as an index into line
	active    bool   // a ReadLine is under way: its prompt belongs on screen
	shown     bool   // the prompt and line are on screen
	cursorRow int    // when shown: rows from the prompt's row down to the cursor
	input     []byte // read and not yet decoded
	afterCR   bool   // the last key was CR, so an LF right after it belongs to it
	history   []string
	browsing  int    // 0 on a new line, n while showing history[len(history)-n]
	draft     []rune // the new line, kept while browsing
	err       error  // the first output error
	// hidden: the line being typed is a secret (a token), never shown
	// nor kept in the history; hideNext asks it of the next ReadLine.
	hidden, hideNext bool
}

// Limits of the editor.
const (
	maxHistory    = 1000 // lines kept for Up and Down
	maxLineRunes  = 4096 // characters in one line
	defaultColumn = 80   // when the terminal does not say its width
)

func newLineEditor(in io.Reader, out io.Writer, width func() int, complete func(string) []string) *lineEditor {
	return &lineEditor{in: in, out: out, width: width, complete: complete}
}

// ReadLine shows prompt and edits a line until Enter. It returns io.EOF for
// Ctrl-D or Ctrl-C on an empty line, or the error reading the terminal.
func (e *lineEditor) ReadLine(prompt string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.prompt, e.line, e.pos, e.browsing, e.draft, e.active = []rune(prompt), nil, 0, 0, nil, true
	e.hidden, e.hideNext = e.hideNext, false
	defer func() { e.active, e.hidden = false, false }()
	buf := make([]byte, 1024)
	var readErr error
	for {
		for len(e.input) > 0 {
			k, n := decodeKey(e.input)
			if n == 0 {
				break // the rest of a key is still to come
			}
			e.input = e.input[n:]
			if line, done, err := e.press(k); done {
				return line, err
			}
		}
		if readErr != nil {
			e.input = nil
			return "", readErr
		}
		e.redraw()
		e.mu.Unlock()
		n, err := e.in.Read(buf)
		e.mu.Lock()
		e.input = append(e.input, buf[:n]...)
		readErr = err
	}
}

// hideNextLine makes the next ReadLine take a secret: nothing typed is
// shown, and the line is not kept in the history.
func (e *lineEditor) hideNextLine() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hideNext = true
}

// visible returns the line as the screen shows it, and the cursor in it.
func (e *lineEditor) visible() ([]rune, int) {
	if e.hidden {
		return nil, 0
	}
	return e.line, e.pos
}

// Print shows lines above the line being edited.
func (e *lineEditor) Print(lines ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.clearArea(nil)
	for _, l := range lines {
		b = append(b, strings.ReplaceAll(l, "\n", "\r\n")...)
		b = append(b, "\r\n"...)
	}
	if e.active {
		b = e.draw(b)
	}
	e.write(b)
}

// Err returns the first error writing to the terminal.
func (e *lineEditor) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// close wipes a prompt left on screen, so the shell's comes where it was.
func (e *lineEditor) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.active = false
	e.write(e.clearArea(nil))
}

// press applies one key; done is true when the line is finished.
func (e *lineEditor) press(k key) (line string, done bool, err error) {
	afterCR := e.afterCR
	e.afterCR = false
	if e.hidden && (k.code == keyUp || k.code == keyDown || k.code == keyTab) {
		return "", false, nil // a secret recalls and completes nothing
	}
	switch k.code {
	case keyRune:
		e.insert(k.r)
	case keyEnter:
		if k.r == '\n' && afterCR {
			return "", false, nil // the LF of a CRLF
		}
		e.afterCR = k.r == '\r'
		return e.enter(), true, nil
	case keyInterrupt, keyEOF:
		if len(e.line) == 0 {
			return "", true, io.EOF
		}
		if k.code == keyEOF {
			e.deleteRange(e.pos, nextBoundary(e.line, e.pos))
		} else {
			e.cancelLine()
		}
	case keyBackspace:
		e.deleteRange(prevBoundary(e.line, e.pos), e.pos)
	case keyDelete:
		e.deleteRange(e.pos, nextBoundary(e.line, e.pos))
	case keyKillWord:
		e.deleteRange(e.wordLeft(), e.pos)
	case keyKillToStart:
		e.deleteRange(0, e.pos)
	case keyKillToEnd:
		e.deleteRange(e.pos, len(e.line))
	case keyUp:
		e.recall(+1)
	case keyDown:
		e.recall(-1)
	case keyTab:
		e.completeWord()
	case keyClearScreen:
		e.write([]byte("\x1b[H\x1b[2J"))
		e.shown = false
	default:
		e.pos = e.moved(k.code)
	}
	return "", false, nil
}

// moved returns where a cursor key moves the cursor.
func (e *lineEditor) moved(code keyCode) int {
	switch code {
	case keyLeft:
		return prevBoundary(e.line, e.pos)
	case keyRight:
		return nextBoundary(e.line, e.pos)
	case keyHome:
		return 0
	case keyEnd:
		return len(e.line)
	case keyWordLeft:
		return e.wordLeft()
	case keyWordRight:
		i := e.pos
		for i < len(e.line) && e.line[i] == ' ' {
			i++
		}
		for i < len(e.line) && e.line[i] != ' ' {
			i++
		}
		return i
	}
	return e.pos
}

// wordLeft returns the start of the word before the cursor.
func (e *lineEditor) wordLeft() int {
	i := e.pos
	for i > 0 && e.line[i-1] == ' ' {
		i--
	}
	for i > 0 && e.line[i-1] != ' ' {
		i--
	}
	return i
}

func (e *lineEditor) insert(r rune) {
	if len(e.line) >= maxLineRunes {
		return
	}
	e.line = append(e.line[:e.pos], append([]rune{r}, e.line[e.pos:]...)...)
	e.pos++
}

// deleteRange deletes line[from:to], clipped to the line, and puts the
// cursor where it was.
func (e *lineEditor) deleteRange(from, to int) {
	from, to = max(from, 0), min(to, len(e.line))
	if from >= to {
		return
	}
	e.line = append(e.line[:from], e.line[to:]...)
	e.pos = from
}

// enter finishes the line: it stays on screen as typed, followed by a line
// end, and goes into the history.
func (e *lineEditor) enter() string {
	line := string(e.line)
	shown, _ := e.visible()
	b := e.clearArea(nil)
	b = append(b, string(e.prompt)...)
	b = append(b, string(shown)...)
	e.write(append(b, "\r\n"...))
	if !e.hidden && strings.TrimSpace(line) != "" && (len(e.history) == 0 || e.history[len(e.history)-1] != line) {
		e.history = append(e.history, line)
		if len(e.history) > maxHistory {
			e.history = append([]string(nil), e.history[1:]...)
		}
	}
	return line
}

// cancelLine leaves the line on screen marked ^C and starts a new one, as
// shells do.
func (e *lineEditor) cancelLine() {
	shown, _ := e.visible()
	b := e.clearArea(nil)
	b = append(b, string(e.prompt)...)
	b = append(b, string(shown)...)
	e.write(append(b, "^C\r\n"...))
	e.line, e.pos, e.browsing, e.draft = nil, 0, 0, nil
}

// recall moves back (+1) or forward (-1) in the history.
func (e *lineEditor) recall(step int) {
	to := e.browsing + step
	if to < 0 || to > len(e.history) {
		return
	}
	if e.browsing == 0 {
		e.draft = append([]rune(nil), e.line...)
	}
	e.browsing = to
	if to == 0 {
		e.line = e.draft
	} else {
		e.line = []rune(e.history[len(e.history)-to])
	}
	e.pos = len(e.line)
}

// completeWord completes the command name being typed: all of it when one
// command fits, as far as the candidates agree otherwise, and lists them
// when they agree no further.
func (e *lineEditor) completeWord() {
	prefix := string(e.line)
	if e.complete == nil || e.pos != len(e.line) || strings.ContainsRune(prefix, ' ') {
		return
	}
	matches := e.complete(prefix)
	switch {
	case len(matches) == 1:
		e.line = []rune(matches[0] + " ")
	case len(matches) > 1:
		common := matches[0]
		for _, m := range matches[1:] {
			for !strings.HasPrefix(m, common) {
				common = common[:len(common)-1]
			}
		}
		if len(common) > len(prefix) {
			e.line = []rune(common)
		} else {
			e.write(append(e.clearArea(nil), strings.Join(matches, "  ")+"\r\n"...))
		}
	}
	e.pos = len(e.line)
}
