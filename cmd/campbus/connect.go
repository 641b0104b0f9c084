package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/campbus/campbus/client"
)

const connectUsage = `Usage: campbus connect [--addr host:port] [campId]

Connects to a campbus server and checks in with campId (asked for when it is
not given), then reads commands, one per line; type "help" for the list.
Events from the server (joins, leaves, peer sessions, messages, directs) are
shown as they arrive.

When stdin is not a terminal, commands come from it as a script: each is
echoed as "> command" before it is sent, and the next is sent only after the
response came. At the end of the script the client leaves without checkout
(the server counts that as a checkout).

Examples:
  campbus connect J004
  campbus connect --addr 10.0.0.5:2022
  printf 'mission 4\ncheckout\n' | campbus connect J004

Flags:
`

// dialTimeout bounds the connection attempt.
const dialTimeout = 10 * time.Second

// Prompts shown before reading a line.
const (
	promptCampID  = "campId? "
	promptCommand = "> "
)

// runConnect is `campbus connect`: the interactive client of MISSION-SPEC §3.
func runConnect(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:2022", "`host:port` of the campbus server")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), connectUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return fmt.Errorf("connect: want at most one campId, got %q", fs.Args())
	}
	campID := fs.Arg(0)

	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	c, err := client.Dial(dialCtx, *addr)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()

	if in, out, ok := terminals(stdin, stdout); ok {
		return runTerminal(ctx, c, *addr, campID, in, out)
	}
	return newSession(c, *addr, newScriptConsole(stdin, stdout)).run(ctx, campID)
}
