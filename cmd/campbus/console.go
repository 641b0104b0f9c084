package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"
)

// console is where a session reads lines and shows output. ReadLine is
// called from the line-reader goroutine alone. Print may be called from any
// goroutine (the client's trace its frames from its own); each call's lines
// come out together, never interleaved with another's.
type console interface {
	// ReadLine shows prompt if the console has a screen and returns the next
	// line without its line end, or io.EOF.
	ReadLine(prompt string) (string, error)
	// Print shows whole lines, together.
	Print(lines ...string)
	// Err returns the first output error.
	Err() error
}

// scriptConsole reads commands from a pipe or file and writes a transcript
// or JSON lines. With prompts set it serves a person on a terminal that
// cannot edit (TERM=dumb): it shows each prompt, and the terminal echoes
// what is typed.
type scriptConsole struct {
	in      *bufio.Scanner
	prompts bool

	mu          sync.Mutex // guards the fields below and the writes to out
	out         io.Writer
	promptShown string // the prompt on screen while a line is typed, if prompts
	err         error
}

func newScriptConsole(stdin io.Reader, stdout io.Writer, prompts bool) *scriptConsole {
	return &scriptConsole{in: bufio.NewScanner(stdin), out: stdout, prompts: prompts}
}

// ReadLine skips blank lines and comment lines (starting with #), so that
// scripts can be laid out for people.
func (sc *scriptConsole) ReadLine(prompt string) (string, error) {
	if sc.prompts {
		sc.mu.Lock()
		sc.promptShown = prompt
		sc.write(prompt)
		sc.mu.Unlock()
		defer func() {
			sc.mu.Lock()
			sc.promptShown = ""
			sc.mu.Unlock()
		}()
	}
	for sc.in.Scan() {
		line := sc.in.Text()
		if trimmed := strings.TrimSpace(line); sc.prompts || (trimmed != "" && !strings.HasPrefix(trimmed, "#")) {
			return line, nil
		}
	}
	if err := sc.in.Err(); err != nil {
		return "", fmt.Errorf("read commands: %w", err)
	}
	return "", io.EOF
}

// Print writes lines. A prompt waiting for a line is shown again after
// them, on a line of its own.
func (sc *scriptConsole) Print(lines ...string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	text := strings.Join(lines, "\n") + "\n"
	if sc.promptShown != "" {
		text = "\n" + text + sc.promptShown
	}
	sc.write(text)
}

// write writes text, keeping the first error. sc.mu must be held.
func (sc *scriptConsole) write(text string) {
	if _, err := io.WriteString(sc.out, text); err != nil && sc.err == nil {
		sc.err = err
	}
}

func (sc *scriptConsole) Err() error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.err
}

// lineReader reads lines in its own goroutine, one per request, so that the
// session can wait for a line, an event and the end of the connection at once.
// A read cannot be interrupted: after the session ends, the goroutine may stay
// blocked in it until stdin delivers something or the process exits.
type lineReader struct {
	prompts chan string
	lines   chan lineRead
	stop    chan struct{}
}

type lineRead struct {
	text string
	err  error
}

func startLineReader(con console) *lineReader {
	lr := &lineReader{prompts: make(chan string, 1), lines: make(chan lineRead), stop: make(chan struct{})}
	go func() {
		for {
			select {
			case prompt := <-lr.prompts:
				text, err := con.ReadLine(prompt)
				select {
				case lr.lines <- lineRead{text, err}:
				case <-lr.stop:
					return
				}
				if err != nil {
					return
				}
			case <-lr.stop:
				return
			}
		}
	}()
	return lr
}
