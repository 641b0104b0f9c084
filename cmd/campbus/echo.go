package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/campbus/campbus/tcpfront"
)

const echoUsage = `Usage: campbus echo [flags]

Runs a plain TCP echo server: each client gets back the first 4 to 1024 bytes
it sends, then the connection is closed. Try it with nc or telnet:

  campbus echo --addr 127.0.0.1:2022 &
  echo "Hello World" | nc 127.0.0.1 2022

Flags:
`

func runEcho(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	setUsage(fs, stderr, echoUsage)
	addr := fs.String("addr", "0.0.0.0:2022", "TCP address to listen on")
	timeout := fs.Duration("timeout", tcpfront.DefaultEchoTimeout, "how long a client that sent fewer than 4 bytes may stay quiet")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("echo: unexpected argument %q", fs.Arg(0))
	}
	ln, err := tcpfront.ListenEcho(*addr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("echo serving", "addr", ln.Addr().String(), "timeout", *timeout)
	srv := &tcpfront.EchoServer{Timeout: *timeout, Logger: log}
	return srv.Serve(ctx, ln)
}
