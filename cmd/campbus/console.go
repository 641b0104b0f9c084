package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/campbus/campbus/client"
)

// terminals reports whether both ends are terminals: only then is the line
// editor used. With stdout redirected to a file, the script console writes a
// readable transcript instead of escape sequences.
func terminals(stdin io.Reader, stdout io.Writer) (in, out *os.File, ok bool) {
	in, okIn := stdin.(*os.File)
	out, okOut := stdout.(*os.File)
	if !okIn || !okOut || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return nil, nil, false
	}
	return in, out, true
}

// runTerminal runs the session with the terminal in raw mode and a line
// editor, restoring the terminal on the way out.
func runTerminal(ctx context.Context, c *client.Client, addr, campID string, in, out *os.File) (err error) {
	fd := int(in.Fd())
	saved, err := term.MakeRaw(fd)
	if err != nil {
		return fmt.Errorf("connect: put the terminal in raw mode: %w", err)
	}
	defer func() {
		fmt.Fprint(out, "\r\x1b[K") // wipe a prompt left on screen
		if restoreErr := term.Restore(fd, saved); restoreErr != nil && err == nil {
			err = fmt.Errorf("connect: restore the terminal: %w", restoreErr)
		}
	}()
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, out}, promptCommand)
	// A terminal that reports no size (a bare pty) keeps the editor's 80x24.
	if width, height, sizeErr := term.GetSize(int(out.Fd())); sizeErr == nil && width > 0 && height > 0 {
		_ = t.SetSize(width, height) // it cannot fail with a positive size
	}
	return newSession(c, addr, &terminalConsole{t: t}).run(ctx, campID)
}

// console is where a session reads lines and shows output. ReadLine is called
// from the line-reader goroutine alone; Echo and Print from the session's
// goroutine alone, which owns all output, so lines never interleave.
type console interface {
	// ReadLine shows prompt if the console has a screen and returns the next
	// line without its line end, or io.EOF.
	ReadLine(prompt string) (string, error)
	// Echo shows a line read after its prompt where the console did not
	// already show it as it was typed.
	Echo(prompt, line string)
	// Print shows whole lines, together.
	Print(lines ...string)
	// Err returns the first output error.
	Err() error
}

// terminalConsole is the interactive console: term.Terminal keeps the line
// being typed intact while lines are printed above it.
type terminalConsole struct {
	t   *term.Terminal
	err error
}

func (tc *terminalConsole) ReadLine(prompt string) (string, error) {
	tc.t.SetPrompt(prompt)
	return tc.t.ReadLine()
}

func (tc *terminalConsole) Echo(string, string) {} // the terminal echoed it while it was typed

func (tc *terminalConsole) Print(lines ...string) {
	if _, err := tc.t.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil && tc.err == nil {
		tc.err = err
	}
}

func (tc *terminalConsole) Err() error { return tc.err }

// scriptConsole reads commands from a pipe or file and writes a transcript:
// each command echoed after its prompt, then what came back.
type scriptConsole struct {
	in  *bufio.Scanner
	out io.Writer
	err error
}

func newScriptConsole(stdin io.Reader, stdout io.Writer) *scriptConsole {
	return &scriptConsole{in: bufio.NewScanner(stdin), out: stdout}
}

// ReadLine skips blank lines and comment lines (starting with #), so that
// scripts can be laid out for people.
func (sc *scriptConsole) ReadLine(string) (string, error) {
	for sc.in.Scan() {
		line := sc.in.Text()
		if trimmed := strings.TrimSpace(line); trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		return line, nil
	}
	if err := sc.in.Err(); err != nil {
		return "", fmt.Errorf("read commands: %w", err)
	}
	return "", io.EOF
}

func (sc *scriptConsole) Echo(prompt, line string) { sc.Print(prompt + line) }

func (sc *scriptConsole) Print(lines ...string) {
	if _, err := io.WriteString(sc.out, strings.Join(lines, "\n")+"\n"); err != nil && sc.err == nil {
		sc.err = err
	}
}

func (sc *scriptConsole) Err() error { return sc.err }

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
