package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bench"
)

const benchUsage = `Usage: campbus bench [flags]

Loads a campbus server with campers over real TCP and measures it: checkins
per second, messages accepted and events delivered per second, latency from
send to delivery at every receiver, errors by code. Then it verifies that
every accepted message reached every other member of its group exactly once
and in order, that no group went over its size and no session over its
maxCount, and says so (exit status 1 if not).

Campers are seated by the server: --campers-per-group must be the server's
--group-size, and --camp-ids its range (the bench uses the first ids of it).
Start the server with --rate 0, or its per-connection rate limit answers a
fast bench with 429 rate-limited. With --server-pid the bench also reads the
server's CPU time from /proc, from the first send until the last delivery,
and divides it by the messages accepted.

--baseline makes the same load over plain NATS, against a nats-server
(--nats-url), for comparison: "jetstream" publishes every message to a file
stream on log.group.<n> and awaits its ack, the stream republishing it on
group.<n>, where the group's members subscribe (the path of campbus's bus,
without campbus); "core" publishes on group.<n> with nothing stored. The
figures and the verification are the same as campbus's.

"campbus bench --cpuprofile FILE serve [serve flags]" runs "campbus serve"
in this process and writes its CPU profile (and with --memprofile FILE2 its
heap profile, allocations included) when it stops on SIGINT or SIGTERM: the
server alone, profiled under a bench run from another process.

Examples:
  campbus bench --embedded
  campbus bench --embedded --groups 16 --messages 100 --cpuprofile cpu.out
  campbus bench --embedded --camp-ids J00001-J20000 --groups 1000 --messages 2 --rounds 3
  campbus serve --addr 127.0.0.1:7000 --nats-addr "" --rate 0 --camp-ids J00001-J20000 &
  campbus bench --addr 127.0.0.1:7000 --camp-ids J00001-J20000 --groups 2500 --messages 5 --server-pid $!
  nats-server -a 127.0.0.1 -p 4333 -js -sd /tmp/js &
  campbus bench --baseline jetstream --nats-url nats://127.0.0.1:4333 --groups 250 --messages 200 --in-flight 8 --server-pid $!
  campbus bench --cpuprofile serve.prof serve --addr 127.0.0.1:7000 --nats-addr "" --rate 0 --log-level warn &

Flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	cfg := bench.DefaultConfig()
	var (
		embedded   bool
		campIDs    string
		asJSON     bool
		progress   time.Duration
		serverPID  int
		cpuProfile string
		memProfile string
		timeout    time.Duration
		rounds     int
	)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "campers' `host:port` of the server to load; several, comma-separated, spread the campers over the nodes of a cluster")
	fs.BoolVar(&embedded, "embedded", false, "start a server in this process (127.0.0.1, random port, temporary data) instead of --addr")
	fs.IntVar(&cfg.Groups, "groups", cfg.Groups, "groups to fill")
	fs.IntVar(&cfg.GroupSize, "campers-per-group", cfg.GroupSize, "campers per group: the server's --group-size")
	fs.IntVar(&cfg.Messages, "messages", cfg.Messages, "messages each sender sends (a group's session allows senders×messages, at most 10000)")
	fs.IntVar(&cfg.Senders, "senders", 0, "members of each group who send (0: all); every member receives")
	fs.IntVar(&cfg.InFlight, "in-flight", cfg.InFlight, "requests each camper has on the wire at once")
	fs.IntVar(&cfg.Size, "size", cfg.Size, "bytes of text in each message")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop sending after this long (0: when every message is sent)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "messages per second sent by all campers together (0: as fast as the server answers)")
	fs.StringVar(&campIDs, "camp-ids", cfg.CampIDs.String(), "the server's range of camp ids")
	fs.IntVar(&cfg.CheckinConcurrency, "checkin-concurrency", cfg.CheckinConcurrency, "campers connecting and checking in at once (also for sessions and checkouts)")
	fs.DurationVar(&cfg.DeliveryTimeout, "delivery-timeout", cfg.DeliveryTimeout, "wait this long at most for the last deliveries, and for each setup request")
	fs.StringVar(&cfg.Transport, "transport", cfg.Transport, `"raw" (frames read and handled on one goroutine per connection) or "client" (package client)`)
	fs.StringVar(&cfg.Baseline, "baseline", "", `run the same load over plain NATS instead of campbus: "jetstream" (a file stream republishing on group.<n>) or "core" (pub/sub, nothing stored), against --nats-url`)
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "the nats-server of a --baseline run: `nats://host:port`")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON instead of a table")
	fs.DurationVar(&progress, "progress", time.Second, "print a progress line to stderr this often (0: never)")
	fs.IntVar(&serverPID, "server-pid", 0, "read the server's memory from /proc/`PID`/status before checkin, checked in and after leaving, and its CPU time from /proc/PID/stat while the messages go")
	fs.DurationVar(&cfg.Settle, "settle", 0, "after everyone left, wait at least this long before the last memory sample")
	fs.StringVar(&cfg.ReadyFile, "ready-file", "", "create `file` once every camper is checked in and every session started")
	fs.StringVar(&cfg.GoFile, "go-file", "", "wait until `file` exists before sending (several bench processes, one after another, then at once)")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process to `file` (with --embedded it covers the server)")
	fs.StringVar(&memProfile, "memprofile", "", "write a heap profile of this process to `file` once every camper is checked in, and to file.left once all left (file.N and file.N.left in round N)")
	fs.IntVar(&rounds, "rounds", 1, "run the whole bench this many times against the same server (growth shows in the footprint after each)")
	fs.DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		if fs.Arg(0) != "serve" {
			return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
		}
		return profileServe(ctx, fs.Args()[1:], cpuProfile, memProfile, stderr)
	}
	var err error
	if cfg.CampIDs, err = campbus.ParseIDRange(campIDs); err != nil {
		return fmt.Errorf("bench: --camp-ids: %w", err)
	}
	if rounds < 1 {
		return errors.New("bench: --rounds must be at least 1")
	}
	if embedded && serverPID != 0 {
		return errors.New("bench: --server-pid is for a server in another process, not --embedded")
	}
	if embedded && cfg.Baseline != "" {
		return errors.New("bench: a --baseline runs against a nats-server (--nats-url), not --embedded")
	}
	if cfg.NATSURL != "" && cfg.Baseline == "" {
		return errors.New("bench: --nats-url is for a --baseline run")
	}
	if progress > 0 {
		cfg.Progress, cfg.ProgressEvery = stderr, progress
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	if embedded {
		e, err := bench.StartEmbedded(ctx, cfg.CampIDs, cfg.GroupSize, nil)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			_ = e.Close(sctx)
		}()
		cfg.Addr, cfg.Probe = e.Addr(), e.Probe()
	} else if serverPID != 0 {
		cfg.Probe = bench.ProcessProbe{PID: serverPID}
	}
	heap := func(path string) func() {
		return func() {
			if err := writeHeapProfile(path); err != nil {
				fmt.Fprintln(stderr, "bench:", err)
			}
		}
	}
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	results := make([]*bench.Result, 0, rounds)
	failed := 0
	for round := 1; round <= rounds; round++ {
		if memProfile != "" {
			path := memProfile
			if rounds > 1 {
				path = fmt.Sprintf("%s.%d", memProfile, round)
			}
			cfg.CheckedIn, cfg.Left = heap(path), heap(path+".left")
		}
		res, err := bench.Run(ctx, cfg)
		if err != nil {
			return err
		}
		results = append(results, res)
		if !res.Verify.OK {
			failed++
		}
		if asJSON {
			continue
		}
		if rounds > 1 {
			fmt.Fprintf(stdout, "round %d of %d\n", round, rounds)
		}
		if err := res.WriteTable(stdout); err != nil {
			return fmt.Errorf("bench: write result: %w", err)
		}
		fmt.Fprintln(stdout)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		var v any = results
		if rounds == 1 {
			v = results[0]
		}
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("bench: write result: %w", err)
		}
	} else if rounds > 1 && results[0].Footprint != nil {
		fmt.Fprintln(stdout, roundsSummary(results))
	}
	if failed > 0 {
		return fmt.Errorf("bench: verification failed in %d of %d rounds", failed, rounds)
	}
	return nil
}

// roundsSummary tells whether the server grew from round to round: its
// footprint before the first round and after each.
func roundsSummary(results []*bench.Result) string {
	first := results[0].Footprint.Idle
	var b strings.Builder
	fmt.Fprintf(&b, "after each round (before the first: heap %.1f MiB, %d goroutines, RSS %.1f MiB):",
		mibOf(first.HeapBytes), first.Goroutines, mibOf(first.RSSBytes))
	for i, res := range results {
		u := res.Footprint.AfterLeave
		fmt.Fprintf(&b, "\n  round %d: heap %.1f MiB, %d goroutines, RSS %.1f MiB", i+1, mibOf(u.HeapBytes), u.Goroutines, mibOf(u.RSSBytes))
	}
	return b.String()
}

func mibOf(b int64) float64 { return float64(b) / (1 << 20) }

// profileServe runs `campbus serve` with args in this process under a CPU
// profile (cpuProfile), and writes a heap profile (memProfile) when it stops.
func profileServe(ctx context.Context, args []string, cpuProfile, memProfile string, stderr io.Writer) error {
	if cpuProfile == "" && memProfile == "" {
		return errors.New("bench: serve: give --cpuprofile or --memprofile (or run campbus serve)")
	}
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	err = runServe(ctx, args, stderr)
	if memProfile != "" {
		if herr := writeHeapProfile(memProfile); herr != nil && err == nil {
			err = fmt.Errorf("bench: %w", herr)
		}
	}
	return err
}

// startCPUProfile starts a CPU profile into path ("" for none); stop
// writes it out.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	return nil
}
