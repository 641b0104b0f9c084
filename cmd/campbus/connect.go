package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/campbus/campbus/client"
)

const connectUsage = `Usage: campbus connect [--addr host:port[,host:port...]] [--json] [--trace] [--no-reconnect] [campId]
       campbus connect --staff [--token T] [--addr ...] [--json] [--trace] [--no-reconnect]

Connects to a campbus server and checks in with campId (asked for when it is
not given), then reads commands, one per line; type "help" for the list.
Events (joins, leaves, peer sessions, messages, directs) are shown as they
arrive, above the line being typed.

On a terminal the line can be edited (arrows, Home, End, Ctrl-A/E/U/K/W), Up
and Down recall earlier commands, Tab completes a command name, and lines are
coloured: your results green, errors red, what others do cyan. NO_COLOR=1 or
TERM=dumb turns colour off.

When stdin is not a terminal, commands come from it as a script: each is
echoed as "> command" before it is sent, and the next is sent only after the
response came. At the end of the script the client leaves without checkout
(the server counts that as a checkout). A script whose checkin the server
refuses (campId in use, bad token...) ends at once with exit status 3 and
the reason on stderr, rather than take its next line for a campId; on a
terminal the client asks for another campId instead.

--json writes one JSON object per line instead, for programs, with no
prompts and no echo:
  {"kind":"response","command":"mission","status":200,"body":{"day":4,"keywords":"Heap, Stack"}}
  {"kind":"event","type":"join","body":{"group":1,"campId":"J005","members":["J004","J005"]}}
  {"kind":"error","error":"usage: mission <day>, e.g. mission 4"}   (a line not sent)
and a refused checkin ends it, as a script, after
  {"kind":"error","error":"connect: checkin as J004 refused (409 camp-id-in-use): ...","status":409,"code":"camp-id-in-use","exit":3}

When the connection drops or the server shuts down, the client connects
again by itself, waiting 0.5 s, then twice as long each time up to 30 s
(less a random part), checks in again as the same camper and shows what
the group did meanwhile, each line marked "(missed)", then
"reconnected after 4.2s; 3 missed events". A line typed meanwhile runs once
it is back; Ctrl-D (or Ctrl-C on a terminal) stops trying. Scripts and
--json do the same: a script goes on with its next line, and --json writes
{"kind":"connection","state":"lost"|"retry"|"reconnected"|"stopped",...}
and the missed events with "missed":true. --no-reconnect ends the client
instead (with an error, or quietly after a shutdown).

--addr may list several nodes of one camp, comma-separated; the client
connects to the first that answers, and learns the camp's other nodes from
the checkin. When its node is lost, each attempt to come back goes to the
next address (those given, then those learned), and the line says where:
"reconnected to n2 (10.0.0.2:2022) after 3.1s; 2 missed events". Until the
camp releases the campId the lost node held, the checkin there is refused
for now (409 camp-id-in-use): the client says so once and asks again.

While the camp elects a leader after losing a node, the server answers
503 unavailable with retryAfter: the client waits that long and sends the
request again by itself, for up to 30 s in all, saying so once
("the camp is electing a leader; trying mission again in 1 s"; with --json
{"kind":"retry","command":"mission","status":503,"code":"unavailable",
"retryAfter":1,"attempt":1,"text":"..."} at each try); then it shows the
error.

Offsets count the events of one log, and each log has an epoch: the
client catches up with history after its offset in its epoch. When the
camp's log was started anew while it was away (409 epoch-changed), it shows
the latest events of the new log and says that the events before are gone
(with --json, "epochChanged":true on the reconnected line).

A camp whose server runs with a secret checks in only campers who show their
own token (handed out by whoever runs it): give it as --token or, kept out of
the shell's history, CAMPBUS_TOKEN. Without one, on a terminal, the client asks
for it when the server refuses the checkin, and what is typed is not shown.

--staff signs in as staff, with a staff token (campbus token --staff NAME)
from --token or CAMPBUS_TOKEN, instead of checking in: on a terminal the
client asks for the token when none is given, without showing it, and asks
again when the server refuses it; a script or --json whose token is refused
ends with exit status 3, as after a refused checkin. A staff connection
holds no seat and hears every group event of the camp, so the screen is a
live view of it. Its commands are board (the groups, their members and
sessions, who is checked in and who is muted), announce <text>,
mute <campId> <minutes> (0 lifts it), kick <campId> [reason],
redact <group> <offset> and revoke <campId>; type help for the list. After a drop it connects again and signs in again.

--trace shows each frame as it crosses the wire, ">>" sent and "<<"
received, line ends written as \r\n: a way to learn the protocol. With
--json the trace goes to stderr.

Examples:
  campbus connect J004
  campbus connect --addr 10.0.0.5:2022
  campbus connect --addr 10.0.0.1:2022,10.0.0.2:2022,10.0.0.3:2022 J004
  campbus connect --trace J004
  CAMPBUS_TOKEN="$(cat my.token)" campbus connect J004
  campbus connect --tls --ca camp-ca.pem --addr camp.example:2022 J004
  printf 'mission 4\ncheckout\n' | campbus connect J004
  printf 'mission 4\n' | campbus connect --json J004
  CAMPBUS_TOKEN="$(cat staff.token)" campbus connect --staff
  printf 'board\nannounce lunch at 12:30\n' | campbus connect --staff --token "$(cat staff.token)"

Flags:
`

// defaultConnectAddr is where connect looks for a server unless told.
const defaultConnectAddr = "127.0.0.1:2022"

// dialTimeout bounds the connection attempt.
const dialTimeout = 10 * time.Second

// Prompts shown before reading a line.
const (
	promptCampID  = "campId? "
	promptCommand = "> "
)

// connectOptions are the flags and argument of connect.
type connectOptions struct {
	addr        string   // the flag as given
	addrs       []string // its addresses, in order
	campID      string
	json        bool
	trace       bool
	noReconnect bool
	token       string // shown at checkin or staff sign-in (see connect_token.go)
	staff       bool   // sign in as staff instead of checking in (connect_staff.go)
	tls         connectTLS
	// script is set when stdin is not a terminal, or with --json: a refused
	// checkin then ends the client (see checkinRefused) instead of asking
	// for another campId, which would take the script's next line for one.
	script bool
}

// runConnect is `campbus connect`: the interactive client of MISSION-SPEC §3.
func runConnect(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	opts, err := parseConnectFlags(args, stderr)
	if err != nil {
		return err
	}
	in, out, isTerminal := terminals(stdin, stdout)
	dumb := os.Getenv("TERM") == "dumb"
	opts.script = opts.json || !stdinIsTerminal(stdin)
	switch {
	case opts.json:
		con := newScriptConsole(stdin, stdout, false)
		traceTo := newScriptConsole(nil, stderr, false) // written, never read
		return connectAndRun(ctx, opts, con, &jsonView{con: con}, traceTo, palette{})
	case isTerminal && !dumb:
		return runTerminal(ctx, opts, in, out, palette{colour: wantColour(os.Getenv)})
	default:
		// A script, or a person on a terminal that cannot edit a line: the
		// terminal echoes what is typed, so only a script is echoed.
		con := newScriptConsole(stdin, stdout, isTerminal)
		return connectAndRun(ctx, opts, con, &humanView{con: con, echoTyped: !isTerminal}, con, palette{})
	}
}

func parseConnectFlags(args []string, stderr io.Writer) (connectOptions, error) {
	var opts connectOptions
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	fs.StringVar(&opts.addr, "addr", defaultConnectAddr, "`host:port` of the campbus server, or several, comma-separated: the nodes of one camp")
	fs.BoolVar(&opts.json, "json", false, "write one JSON object per line (responses, events) for programs")
	fs.BoolVar(&opts.trace, "trace", false, "show the raw frames sent (>>) and received (<<)")
	fs.BoolVar(&opts.noReconnect, "no-reconnect", false, "end when the connection drops instead of connecting again and catching up")
	fs.StringVar(&opts.token, "token", "", "your token, for a camp that needs one (a staff token with --staff); best given as CAMPBUS_TOKEN")
	fs.BoolVar(&opts.staff, "staff", false, "sign in as staff with a staff token, to run the camp: board, announce, mute, kick, redact, revoke")
	fs.BoolVar(&opts.tls.on, "tls", false, "connect over TLS, checking the server's certificate against the system's CAs or --ca")
	fs.StringVar(&opts.tls.ca, "ca", "", "PEM `file` of the CA(s) that signed the server's certificate, trusted instead of the system's (with --tls)")
	setUsage(fs, stderr, connectUsage)
	err := parseFlags(fs, args) // flags not given come from CAMPBUS_ADDR, CAMPBUS_JSON...
	if err != nil {
		return opts, err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return opts, fmt.Errorf("connect: want at most one campId, got %q", fs.Args())
	}
	opts.campID = fs.Arg(0)
	if opts.staff && opts.campID != "" {
		fs.Usage()
		return opts, fmt.Errorf("connect: --staff signs in with a staff token and takes no campId, got %q", opts.campID)
	}
	opts.addrs, err = splitAddrs(opts.addr)
	return opts, err
}

// connectAndRun connects and runs a session on con, tracing frames on
// traceTo when asked.
func connectAndRun(ctx context.Context, opts connectOptions, con console, v view, traceTo console, pal palette) error {
	c, addr, err := dialFirst(ctx, opts, traceTo, pal)
	if err != nil {
		return err
	}
	return startSession(c, addr, opts, con, v, traceTo, pal).run(ctx, opts.campID)
}

// startSession makes the session of a client connected to addr; unless
// told not to, it dials again as the first connection did when the
// connection drops, to the next of the camp's addresses.
func startSession(c *client.Client, addr string, opts connectOptions, con console, v view, traceTo console, pal palette) *session {
	s := newSession(c, addr, con, v).withToken(opts.token)
	s.script = opts.script
	if opts.staff {
		s.staff, s.commands = true, staffCommands
	}
	s.book = newAddrBook(opts.addrs, addr)
	if !opts.noReconnect {
		s.redial = func(ctx context.Context, addr string) (*client.Client, error) {
			return dialServer(ctx, opts, addr, traceTo, pal)
		}
	}
	return s
}

// commands are the commands of the client's mode.
func (o connectOptions) commands() commandSet {
	if o.staff {
		return staffCommands
	}
	return camperCommands
}

// dialFirst connects to the first of the addresses that answers, trying
// each once in order, and returns the client and the address.
func dialFirst(ctx context.Context, opts connectOptions, traceTo console, pal palette) (*client.Client, string, error) {
	var errs []error
	for _, addr := range opts.addrs {
		c, err := dialServer(ctx, opts, addr, traceTo, pal)
		if err == nil {
			return c, addr, nil
		}
		if ctx.Err() != nil || len(opts.addrs) == 1 {
			return nil, "", err
		}
		errs = append(errs, err)
	}
	return nil, "", &dialError{fmt.Sprintf("no address of --addr answered: %v", joinSentences(errs)), errors.Join(errs...)}
}

func joinSentences(errs []error) string {
	parts := make([]string, len(errs))
	for i, err := range errs {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

// dialServer connects to the server at addr, and says what to do when it
// cannot.
func dialServer(ctx context.Context, opts connectOptions, addr string, traceTo console, pal palette) (*client.Client, error) {
	var clientOpts []client.Option
	if opts.trace {
		clientOpts = append(clientOpts, client.WithTrace(tracer(traceTo, pal)))
	}
	tlsOpts, err := opts.tls.clientOptions()
	if err != nil {
		return nil, err
	}
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := client.Dial(dialCtx, addr, append(clientOpts, tlsOpts...)...)
	if err == nil {
		return c, nil
	}
	if tlsErr := tlsDialError(err, addr); tlsErr != nil {
		return nil, tlsErr
	}
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		start := "campbus serve"
		if addr != defaultConnectAddr {
			start += " --addr " + addr
		}
		return nil, &dialError{fmt.Sprintf("nothing is listening on %s: is the server running? try: %s", addr, start), err}
	case errors.As(err, &dnsErr):
		return nil, &dialError{fmt.Sprintf("cannot find the host of %s: check --addr", addr), err}
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return nil, &dialError{fmt.Sprintf("no answer from %s within %v: check --addr, and that a firewall lets you through", addr, dialTimeout), err}
	}
	return nil, fmt.Errorf("connect: %w", err)
}

// dialError says in a sentence why the client could not connect and what to
// do; the cause stays reachable with errors.Is.
type dialError struct {
	sentence string
	cause    error
}

func (e *dialError) Error() string { return e.sentence }
func (e *dialError) Unwrap() error { return e.cause }
