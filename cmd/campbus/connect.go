package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/campbus/campbus"
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

// session is one run of the client. Its goroutine owns all output.
type session struct {
	client *client.Client
	addr   string
	con    console
	lines  *lineReader
	events <-chan client.Event // nil once closed

	clock       func() time.Time
	checkedInAt time.Time // when the last checkin succeeded, by clock
	shutdown    bool      // a shutdown event was shown
	reading     bool      // a line was requested and not yet received
}

// Outcomes that end a session without an error.
var (
	errQuit     = errors.New("quit")
	errShutdown = errors.New("server shutting down")
)

func newSession(c *client.Client, addr string, con console) *session {
	return &session{client: c, addr: addr, con: con, events: c.Events(), clock: time.Now}
}

// run checks in and then runs commands until checkout, quit, the end of the
// input, a shutdown event or the end of ctx. Only a lost connection or an
// input or output failure is an error.
func (s *session) run(ctx context.Context, campID string) error {
	s.lines = startLineReader(s.con)
	defer close(s.lines.stop)

	err := s.checkin(ctx, campID)
	for err == nil {
		var line string
		line, err = s.readLine(ctx, promptCommand)
		if err == nil {
			s.con.Echo(promptCommand, line)
			err = s.execute(ctx, line)
		}
		if err == nil && s.shutdown {
			err = errShutdown
		}
	}
	switch {
	case errors.Is(err, errQuit), errors.Is(err, errShutdown), ctx.Err() != nil:
		// Leaving without checkout, the server checks the camper out.
		return s.con.Err()
	default:
		return err
	}
}

// checkin sends checkin with campID, or with ids read at the campId prompt,
// until one succeeds.
func (s *session) checkin(ctx context.Context, campID string) error {
	if campID != "" {
		s.con.Print(promptCommand + "checkin " + campID) // so the screen reads like the exercise's
	}
	for {
		for campID == "" {
			line, err := s.readLine(ctx, promptCampID)
			if err != nil {
				return err
			}
			name, rest := cutWord(line)
			if strings.EqualFold(name, campbus.CmdCheckin) {
				s.con.Echo(promptCommand, line)
			} else {
				s.con.Echo(promptCampID, line)
			}
			switch strings.ToLower(name) {
			case "quit", "exit":
				return errQuit
			case "help":
				s.con.Print("< type your campId, e.g. J004 (or quit to leave)")
			case "checkin": // the exercise's screens type "checkin J004"
				campID = strings.TrimSpace(rest)
			default:
				campID = strings.TrimSpace(line)
			}
		}
		ok, err := s.doCheckin(ctx, campID)
		if err != nil || ok {
			return err
		}
		campID = ""
	}
}

// readLine asks the line reader for a line and waits for it, showing events
// meanwhile. The caller echoes the line. It returns errQuit at the end of the
// input, errShutdown after a shutdown event and an error when the connection
// ends.
func (s *session) readLine(ctx context.Context, prompt string) (string, error) {
	if !s.reading {
		s.lines.prompts <- prompt
		s.reading = true
	}
	for {
		select {
		case l := <-s.lines.lines:
			s.reading = false
			if errors.Is(l.err, io.EOF) {
				return "", errQuit // the end of the input, or Ctrl-D / Ctrl-C on a terminal
			}
			return l.text, l.err
		case ev, ok := <-s.events:
			if !ok {
				return "", s.connectionEnded()
			}
			s.showEvent(ev)
			if s.shutdown {
				return "", errShutdown
			}
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// do sends one request and waits for its response, showing events meanwhile.
// Events that came before the response are shown before it returns, so a
// transcript keeps the server's order. It returns nil and shows the server's
// sentence as "< command failed: ..." for an error response, and returns an
// error when the connection is gone.
func (s *session) do(ctx context.Context, command string, body any) (*client.Response, error) {
	result := make(chan doResult, 1)
	go func() {
		resp, err := s.client.Do(ctx, command, body)
		result <- doResult{resp, err}
	}()
	for {
		select {
		case r := <-result:
			s.showQueuedEvents()
			if r.err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, s.connectionEnded()
			}
			if r.resp.Err != nil {
				s.con.Print(fmt.Sprintf("< %s failed: %s", command, printable(r.resp.Err.Message)))
				return nil, nil
			}
			return r.resp, nil
		case ev, ok := <-s.events:
			if !ok {
				s.events = nil // Do fails at once now
				continue
			}
			s.showEvent(ev)
		}
	}
}

type doResult struct {
	resp *client.Response
	err  error
}

// showQueuedEvents shows the events already received.
func (s *session) showQueuedEvents() {
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.events = nil
				return
			}
			s.showEvent(ev)
		default:
			return
		}
	}
}

// connectionEnded shows what is left of the events and says why the
// connection ended: errShutdown after a shutdown event, an error otherwise.
func (s *session) connectionEnded() error {
	<-s.client.Done()
	if s.events != nil {
		for ev := range s.events {
			s.showEvent(ev)
		}
		s.events = nil
	}
	if s.shutdown {
		return errShutdown
	}
	return fmt.Errorf("connection to %s ended: %w", s.addr, s.client.Err())
}

func (s *session) showEvent(ev client.Event) {
	if ev.Type == campbus.EventShutdown {
		s.shutdown = true
	}
	s.con.Print(formatEvent(ev))
}

// execute runs one command line.
func (s *session) execute(ctx context.Context, line string) error {
	name, rest := cutWord(line)
	switch strings.ToLower(name) {
	case "":
		return nil
	case "help":
		s.con.Print(helpLines...)
		return nil
	case "quit", "exit":
		return errQuit
	case campbus.CmdCheckin:
		campID, ok := oneArg(rest)
		if !ok {
			return s.usage("checkin <campId>, e.g. checkin J004")
		}
		_, err := s.doCheckin(ctx, campID)
		return err
	case campbus.CmdMission:
		day, ok := oneArg(rest)
		if !ok {
			return s.usage("mission <day>, e.g. mission 4")
		}
		return s.mission(ctx, day)
	case campbus.CmdPeerSession:
		maxCount, ok := oneArg(rest)
		if !ok {
			return s.usage("peersession <maxCount>, e.g. peersession 2")
		}
		return s.peerSession(ctx, maxCount)
	case campbus.CmdComplete:
		return s.complete(ctx)
	case campbus.CmdMessage:
		if strings.TrimSpace(rest) == "" {
			return s.usage("message <text>, e.g. message 안녕하세요")
		}
		return s.message(ctx, rest)
	case campbus.CmdDirect:
		campID, text := cutWord(rest)
		if campID == "" || strings.TrimSpace(text) == "" {
			return s.usage("direct <campId> <text>, e.g. direct J005 hello")
		}
		return s.direct(ctx, campID, text)
	case campbus.CmdCheckout:
		return s.checkout(ctx)
	default:
		s.con.Print(fmt.Sprintf("< unknown command %q; type help to see the commands", printable(name)))
		return nil
	}
}

var helpLines = []string{
	"< commands:",
	"<   mission <day>            show the keywords of that day's mission",
	"<   peersession <maxCount>   start a peer session in your group, as its host",
	"<   complete                 end the peer session you host",
	"<   message <text>           send text to your group during a peer session",
	"<   direct <campId> <text>   send text to one camper",
	"<   checkin <campId>         check in (done when the client starts)",
	"<   checkout                 check out, show your active time and leave",
	"<   quit                     leave without checkout (the server checks you out)",
	"<   help                     show this list",
}

func (s *session) usage(form string) error {
	s.con.Print("< usage: " + form)
	return nil
}

// doCheckin sends checkin and reports whether it succeeded.
func (s *session) doCheckin(ctx context.Context, campID string) (bool, error) {
	resp, err := s.do(ctx, campbus.CmdCheckin, campbus.CheckinRequest{CampID: campID})
	if resp == nil {
		return false, err
	}
	var body campbus.CheckinResponse
	if err := decode(resp, &body); err != nil {
		return false, err
	}
	s.checkedInAt = s.clock()
	s.con.Print(fmt.Sprintf("< checkin success to group#%d (members: %s)", body.Group, strings.Join(body.Members, ", ")))
	return true, nil
}

func (s *session) mission(ctx context.Context, day string) error {
	resp, err := s.do(ctx, campbus.CmdMission, map[string]any{"day": intOrText(day)})
	if resp == nil {
		return err
	}
	var body campbus.MissionResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	s.con.Print(fmt.Sprintf("< keywords are \"%s\"", printable(body.Keywords)))
	return nil
}

func (s *session) peerSession(ctx context.Context, maxCount string) error {
	resp, err := s.do(ctx, campbus.CmdPeerSession, map[string]any{"maxCount": intOrText(maxCount)})
	if resp == nil {
		return err
	}
	var body campbus.PeerSessionResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	s.con.Print(fmt.Sprintf("< peersession started (maxCount=%d)", body.MaxCount))
	return nil
}

func (s *session) complete(ctx context.Context) error {
	resp, err := s.do(ctx, campbus.CmdComplete, nil)
	if resp == nil {
		return err
	}
	var body campbus.CompleteResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	s.con.Print(fmt.Sprintf("< peersession completed (%s)", countMessages(body.Messages)))
	return nil
}

func (s *session) message(ctx context.Context, text string) error {
	resp, err := s.do(ctx, campbus.CmdMessage, campbus.MessageRequest{Text: text})
	if resp == nil {
		return err
	}
	var body campbus.MessageResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	s.con.Print(fmt.Sprintf("< message sent (seq %d, %d remaining, delivered to %d)", body.Seq, body.Remaining, body.Delivered))
	return nil
}

func (s *session) direct(ctx context.Context, campID, text string) error {
	resp, err := s.do(ctx, campbus.CmdDirect, campbus.DirectRequest{CampID: campID, Text: text})
	if resp == nil {
		return err
	}
	s.con.Print("< direct (success)")
	return nil
}

// checkout checks out and ends the session with errQuit; the server closes
// the connection after the response.
func (s *session) checkout(ctx context.Context) error {
	resp, err := s.do(ctx, campbus.CmdCheckout, nil)
	if resp == nil {
		return err
	}
	s.con.Print("< checkout (disconnected)", "< active time "+formatActiveTime(s.clock().Sub(s.checkedInAt)))
	return errQuit
}

func decode(resp *client.Response, v any) error {
	if err := resp.Decode(v); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// formatEvent returns the line that shows an event.
func formatEvent(ev client.Event) string {
	switch ev.Type {
	case campbus.EventJoin:
		return fmt.Sprintf("< %s joined group#%d (members: %s)", ev.CampID, ev.Group, strings.Join(ev.Members, ", "))
	case campbus.EventCheckout:
		line := fmt.Sprintf("< %s left group#%d", ev.CampID, ev.Group)
		if ev.Reason == campbus.ReasonDisconnect {
			line += " (disconnected)"
		}
		return line
	case campbus.EventPeerSession:
		return fmt.Sprintf("< peersession started by %s (maxCount=%d)", ev.Host, ev.MaxCount)
	case campbus.EventMessage:
		return fmt.Sprintf("< message from %s, \"%s\"", ev.From, printable(ev.Text))
	case campbus.EventComplete:
		messages := countMessages(derefInt(ev.Messages))
		if ev.Reason == campbus.ReasonHostLeft {
			return fmt.Sprintf("< peersession ended, host %s left (%s)", ev.Host, messages)
		}
		return fmt.Sprintf("< peersession completed by %s (%s)", ev.Host, messages)
	case campbus.EventDirect:
		return fmt.Sprintf("< direct from %s, \"%s\"", ev.From, printable(ev.Text))
	case campbus.EventShutdown:
		return "< server shutting down"
	default: // a newer server's event: show it rather than hide it
		return fmt.Sprintf("< %s event %s", printable(ev.Type), printable(string(ev.Raw)))
	}
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func countMessages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}

// formatActiveTime shows a duration as "1h 2m 3s", "2m 3s" or "3s", in whole
// seconds.
func formatActiveTime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	total := int64(d / time.Second)
	h, m, sec := total/3600, total/60%60, total%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, sec)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, sec)
	default:
		return fmt.Sprintf("%ds", sec)
	}
}

// printable replaces control characters and invalid UTF-8 in text that came
// from other people with escapes, so that it cannot break lines or drive the
// terminal. Other characters, Hangul included, stay as they are.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cutWord splits a line into its first word and the rest, which keeps its
// inner and trailing spaces (message text is sent as typed).
func cutWord(line string) (word, rest string) {
	line = strings.TrimLeft(line, " \t")
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return line, ""
	}
	return line[:i], strings.TrimLeft(line[i:], " \t")
}

// oneArg returns the only word of rest.
func oneArg(rest string) (string, bool) {
	fields := strings.Fields(rest)
	if len(fields) != 1 {
		return "", false
	}
	return fields[0], true
}

// intOrText returns arg as a number when it is one and as a string
// otherwise, so that the server judges it and the user reads its sentence.
func intOrText(arg string) any {
	if n, err := strconv.ParseInt(arg, 10, 64); err == nil {
		return n
	}
	return arg
}
