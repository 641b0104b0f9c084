// Command campbus is the campbus server, its echo server and its client in one
// binary:
//
//	campbus serve   [flags]   run the check-in and group-messaging server
//	campbus echo    [flags]   run a plain TCP echo server
//	campbus connect [flags] [campId]   the interactive client
//	campbus bench   [flags]   a load generator speaking the wire protocol
//	campbus token   [flags] campId   a camper's token, for a camp with a secret
//
// Run `campbus <command> --help` for the flags of each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `campbus: a check-in and group-messaging server for a coding camp.

Usage:
  campbus serve   [flags]            run the server (embedded NATS bus, TCP front-end)
  campbus echo    [flags]            run a plain TCP echo server
  campbus connect [flags] [campId]   connect to a server with the interactive client
  campbus bench   [flags]            load a server with campers and measure it
  campbus token   [flags] campId     mint a camper's token, for a server with --auth-secret
  campbus version                    print the version of campbus and of NATS

Run "campbus <command> --help" for the flags of a command. Every flag can also
be set in the environment: --nats-addr as CAMPBUS_NATS_ADDR, and so on.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "campbus:", err)
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			os.Exit(coded.ExitCode())
		}
		os.Exit(1)
	}
}

// run dispatches to a subcommand. It returns when the subcommand is done or
// ctx is cancelled (SIGINT, SIGTERM).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stderr)
	case "echo":
		return runEcho(ctx, args[1:], stderr)
	case "connect":
		return runConnect(ctx, args[1:], stdin, stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "token":
		return runToken(args[1:], stdout, stderr)
	case "version":
		return runVersion(stdout)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
