package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
)

// session is one run of the client. Its goroutine shows everything but
// traced frames, which the client's goroutines print on the console.
type session struct {
	client *client.Client
	addr   string
	con    console // where lines are read
	view   view    // how responses and events are shown
	lines  *lineReader
	events <-chan client.Event // nil once closed

	clock       func() time.Time
	checkedInAt time.Time // when the last checkin succeeded, by clock
	shutdown    bool      // a shutdown event was shown
	kicked      bool      // staff checked the camper out: it does not come back by itself
	reading     bool      // a line was requested and not yet received
	pending     *string   // a line read while reconnecting, to run next

	// Reconnecting (connect_reconnect.go): redial is nil with
	// --no-reconnect.
	redial  func(ctx context.Context, addr string) (*client.Client, error)
	book    *addrBook // the camp's addresses, to come back at the next one
	backoff backoff
	place   place // where the camper is, to check in again and catch up
	lostIn  string
	refused bool // the last catch-up's history was refused
	// epochChanged: the last catch-up found the camp's log started anew.
	epochChanged bool
	token        campToken // shown at checkin
	// staff is set for connect --staff: the session signs in as staff
	// (connect_staff.go) and offers commands, the staff's.
	staff    bool
	commands commandSet

	// script is set when lines come from a script or --json is on: a
	// refused checkin ends the client with checkinRefused.
	script  bool
	lastErr *campbus.Error // the last error response shown by do
}

// Outcomes that end a session without an error.
var (
	errQuit     = errors.New("quit")
	errShutdown = errors.New("server shutting down")
)

func newSession(c *client.Client, addr string, con console, v view) *session {
	return &session{client: c, addr: addr, con: con, view: v, events: c.Events(), clock: time.Now,
		backoff: backoff{reconnectMin, reconnectMax}, commands: camperCommands}
}

// run checks in and then runs commands until checkout, quit, the end of the
// input, a shutdown event or the end of ctx. Only a lost connection or an
// input or output failure is an error.
func (s *session) run(ctx context.Context, campID string) error {
	s.lines = startLineReader(s.con)
	defer close(s.lines.stop)
	defer func() { s.client.Close() }() // the last of them, after reconnects

	var err error
	if s.staff {
		err = s.signIn(ctx)
	} else {
		err = s.checkin(ctx, campID)
	}
	for {
		for err == nil {
			var line string
			line, err = s.readLine(ctx, promptCommand)
			if err == nil {
				s.view.echo(promptCommand, line, true)
				err = s.execute(ctx, line)
			}
			if err == nil && s.shutdown {
				err = errShutdown
			}
		}
		if !s.mayReconnect(ctx, err) {
			break
		}
		err = s.reconnect(ctx, err)
		if err == nil && !s.staff && s.place.campID == "" {
			err = s.checkin(ctx, "") // it was not checked in yet
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
		s.view.echo(promptCommand, "checkin "+campID, false) // so the screen reads like the exercise's
	}
	for {
		for campID == "" {
			line, err := s.readLine(ctx, promptCampID)
			if err != nil {
				return err
			}
			name, rest := cutWord(line)
			if strings.EqualFold(name, campbus.CmdCheckin) {
				s.view.echo(promptCommand, line, true)
			} else {
				s.view.echo(promptCampID, line, true)
			}
			switch strings.ToLower(name) {
			case "quit", "exit":
				return errQuit
			case "help":
				s.view.help("type your campId, e.g. J004 (or quit to leave)", nil)
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
		if s.script && s.lastErr != nil {
			refused := &checkinRefused{campID: campID, cause: s.lastErr}
			s.view.fatal(refused)
			return refused
		}
		campID = ""
	}
}

// readLine asks the line reader for a line and waits for it, showing events
// meanwhile. The caller echoes the line. It returns errQuit at the end of the
// input, errShutdown after a shutdown event and an error when the connection
// ends.
func (s *session) readLine(ctx context.Context, prompt string) (string, error) {
	if s.pending != nil {
		line := *s.pending
		s.pending = nil
		return line, nil
	}
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
// transcript keeps the server's order. For an error response it returns nil
// and shows the server's sentence ("< command failed: ...") with a hint; it
// returns an error when the connection is gone.
func (s *session) do(ctx context.Context, command string, body any) (*client.Response, error) {
	resp, err := s.exchange(ctx, command, body, s.showEvent)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.lostIn = command
		return nil, s.connectionEnded()
	}
	if resp.Err != nil {
		s.lastErr = resp.Err
		s.view.failure(command, resp, hintFor(command, body, resp.Err))
		s.token.refused = resp.Err.Code == campbus.CodeBadToken
		return nil, nil
	}
	return resp, nil
}

// exchange sends one request and waits for its response, giving each event
// that arrives meanwhile to onEvent, in order, the events read before the
// response included. While the camp elects a leader (503 unavailable,
// PROTOCOL.md §11) it sends a repeatable request (campbus.Command) again
// after the retryAfter the server asks for, saying so, for up to
// retryBudget in all; then it returns the last 503. It returns an error
// when the connection ended.
func (s *session) exchange(ctx context.Context, command string, body any, onEvent func(client.Event)) (*client.Response, error) {
	var first time.Time
	for attempt := 1; ; attempt++ {
		resp, err := s.roundTrip(ctx, command, body, onEvent)
		if cmd, _ := campbus.LookupCommand(command); err != nil || !electing(resp) || !cmd.Repeatable {
			// A message (or direct, announcement...) answered 503 may
			// have been stored: sent again, it could count twice.
			return resp, err
		}
		wait := retryAfter(resp)
		if first.IsZero() {
			first = s.clock()
		}
		if s.clock().Add(wait).Sub(first) > retryBudget {
			return resp, nil // the caller shows the 503
		}
		s.view.retrying(retryNote{Command: command, Status: resp.Status, Code: resp.Err.Code,
			RetryAfter: int(wait / time.Second), Attempt: attempt,
			Text: fmt.Sprintf("the camp is electing a leader; trying %s again in %d s", command, int(wait/time.Second))})
		if err := s.sleep(ctx, wait, onEvent); err != nil {
			return nil, err
		}
	}
}

// roundTrip sends one request and waits for its response, giving each
// event that arrives meanwhile to onEvent.
func (s *session) roundTrip(ctx context.Context, command string, body any, onEvent func(client.Event)) (*client.Response, error) {
	result := make(chan doResult, 1)
	go func() {
		resp, err := s.client.Do(ctx, command, body)
		result <- doResult{resp, err}
	}()
	for {
		select {
		case r := <-result:
			s.drainEvents(onEvent) // those read before the response came
			return r.resp, r.err
		case ev, ok := <-s.events:
			if !ok {
				s.events = nil // Do fails at once now
				continue
			}
			onEvent(ev)
		}
	}
}

// sleep waits d, giving events to onEvent meanwhile. It returns early,
// without an error, when the connection ends: the next request fails at
// once and says so.
func (s *session) sleep(ctx context.Context, d time.Duration, onEvent func(client.Event)) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case ev, ok := <-s.events:
			if !ok {
				s.events = nil
				return nil
			}
			onEvent(ev)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// drainEvents gives the events already received to onEvent.
func (s *session) drainEvents(onEvent func(client.Event)) {
	for s.events != nil {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.events = nil
				return
			}
			onEvent(ev)
		default:
			return
		}
	}
}

type doResult struct {
	resp *client.Response
	err  error
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
	return &lostError{addr: s.addr, cause: s.client.Err()}
}

// exitCheckinRefused is the exit status of a client whose checkin the
// server refused where nobody can type another campId: a script, --json,
// or a reconnect refused for good.
const exitCheckinRefused = 3

// checkinRefused ends a client whose checkin the server refused. main
// exits with its ExitCode.
type checkinRefused struct {
	campID string
	cause  *campbus.Error
	again  bool // the checkin was coming back after a drop
	staff  bool // it was the staff sign-in of connect --staff
}

func (e *checkinRefused) Error() string {
	if e.staff {
		what := "staff sign-in"
		if e.again {
			what = "signing in again as staff"
		}
		return fmt.Sprintf("connect: %s refused (%d %s): %s", what, e.cause.Status, e.cause.Code, printable(e.cause.Message))
	}
	what := "checkin as " + e.campID
	if e.campID == "" {
		what = "checkin"
	}
	if e.again {
		what = "checking in again as " + e.campID
	}
	return fmt.Sprintf("connect: %s refused (%d %s): %s", what, e.cause.Status, e.cause.Code, printable(e.cause.Message))
}

func (e *checkinRefused) Unwrap() error { return e.cause }

// ExitCode is the status the process exits with.
func (e *checkinRefused) ExitCode() int { return exitCheckinRefused }

// lostError says that the connection ended, and why.
type lostError struct {
	addr  string
	cause error
}

func (e *lostError) Error() string { return fmt.Sprintf("connection to %s ended: %v", e.addr, e.cause) }
func (e *lostError) Unwrap() error { return e.cause }

func (s *session) showEvent(ev client.Event) {
	switch ev.Type {
	case campbus.EventShutdown:
		s.shutdown = true
	case campbus.EventKicked:
		s.kicked = true
	}
	s.place.saw(ev)
	s.view.event(ev)
}
