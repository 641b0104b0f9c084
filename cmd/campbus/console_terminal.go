package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
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

// stdinIsTerminal reports whether stdin is a terminal, whatever stdout is.
func stdinIsTerminal(stdin io.Reader) bool {
	in, ok := stdin.(*os.File)
	return ok && term.IsTerminal(int(in.Fd()))
}

// runTerminal connects, then runs the session on the line editor with the
// terminal in raw mode, restoring the terminal on the way out. It connects
// first so that Ctrl-C still interrupts a slow connection attempt.
func runTerminal(ctx context.Context, opts connectOptions, in, out *os.File, pal palette) (err error) {
	width := func() int {
		w, _, sizeErr := term.GetSize(int(out.Fd()))
		if sizeErr != nil {
			return 0 // a bare pty that reports no size: the editor assumes 80
		}
		return w
	}
	ed := newLineEditor(in, out, width, opts.commands().completions)
	c, addr, err := dialFirst(ctx, opts, ed, pal)
	if err != nil {
		return err
	}
	fd := int(in.Fd())
	saved, err := term.MakeRaw(fd)
	if err != nil {
		c.Close()
		return fmt.Errorf("connect: put the terminal in raw mode: %w", err)
	}
	defer func() {
		ed.close()
		if restoreErr := term.Restore(fd, saved); restoreErr != nil && err == nil {
			err = fmt.Errorf("connect: restore the terminal: %w", restoreErr)
		}
	}()
	return startSession(c, addr, opts, ed, &humanView{con: ed, pal: pal, keys: true}, ed, pal).run(ctx, opts.campID)
}
