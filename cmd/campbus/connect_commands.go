package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
)

// execute runs one command line.
func (s *session) execute(ctx context.Context, line string) error {
	name, rest := cutWord(line)
	switch strings.ToLower(name) {
	case "":
		return nil
	case "help", "?":
		s.view.help(helpIntro, s.commands)
		return nil
	case "quit", "exit":
		return errQuit
	}
	if s.staff {
		return s.executeStaff(ctx, strings.ToLower(name), rest)
	}
	switch strings.ToLower(name) {
	case campbus.CmdCheckin:
		campID, ok := oneArg(rest)
		if !ok {
			return s.usage(campbus.CmdCheckin)
		}
		_, err := s.doCheckin(ctx, campID)
		return err
	case campbus.CmdMission:
		day, ok := oneArg(rest)
		if !ok {
			return s.usage(campbus.CmdMission)
		}
		return s.mission(ctx, day)
	case campbus.CmdPeerSession:
		maxCount, ok := oneArg(rest)
		if !ok {
			return s.usage(campbus.CmdPeerSession)
		}
		return s.peerSession(ctx, maxCount)
	case campbus.CmdComplete:
		return s.complete(ctx)
	case campbus.CmdMessage:
		if strings.TrimSpace(rest) == "" {
			return s.usage(campbus.CmdMessage)
		}
		return s.message(ctx, rest)
	case campbus.CmdDirect:
		campID, text := cutWord(rest)
		if campID == "" || strings.TrimSpace(text) == "" {
			return s.usage(campbus.CmdDirect)
		}
		return s.direct(ctx, campID, text)
	case campbus.CmdHistory:
		fields := strings.Fields(rest)
		if len(fields) > 1 {
			return s.usage(campbus.CmdHistory)
		}
		limit := ""
		if len(fields) == 1 {
			limit = fields[0]
		}
		return s.history(ctx, limit)
	case campbus.CmdCheckout:
		return s.checkout(ctx)
	default:
		return s.unknown(name)
	}
}

// unknown says that name is none of the mode's commands, and which it may
// have meant; nothing is sent.
func (s *session) unknown(name string) error {
	hint := ""
	if guess := s.commands.suggest(name); guess != "" {
		hint = "did you mean " + guess + "?"
	}
	s.view.mistake(fmt.Sprintf("unknown command %q; type help to see the commands", printable(name)), hint)
	return nil
}

// usage shows how the command is typed; nothing is sent.
func (s *session) usage(command string) error {
	s.view.mistake(usageOf(command), "")
	return nil
}

// doCheckin sends checkin, with the token if there is one, and reports
// whether it succeeded. Refused for its token, it asks for one and tries
// again where a person can type it unseen (see askToken).
func (s *session) doCheckin(ctx context.Context, campID string) (bool, error) {
	resp, err := s.do(ctx, campbus.CmdCheckin, campbus.CheckinRequest{CampID: campID, Token: s.token.value})
	for resp == nil && err == nil {
		var again bool
		if again, err = s.askToken(ctx); !again {
			return false, err
		}
		resp, err = s.do(ctx, campbus.CmdCheckin, campbus.CheckinRequest{CampID: campID, Token: s.token.value})
	}
	if resp == nil {
		return false, err
	}
	var body campbus.CheckinResponse
	if err := decode(resp, &body); err != nil {
		return false, err
	}
	s.checkedInAt = s.clock()
	s.place.checkedIn(body, clusterFieldsOf(resp.Body).Epoch)
	s.learnFrom(resp)
	s.view.result(campbus.CmdCheckin, resp, resultLines(checkinLine(body))...)
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
	s.view.result(campbus.CmdMission, resp, resultLines(missionLine(body))...)
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
	s.view.result(campbus.CmdPeerSession, resp, resultLines(peerSessionLine(body))...)
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
	s.view.result(campbus.CmdComplete, resp, resultLines(completeLine(body))...)
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
	s.view.result(campbus.CmdMessage, resp, resultLines(messageLine(body))...)
	return nil
}

func (s *session) direct(ctx context.Context, campID, text string) error {
	resp, err := s.do(ctx, campbus.CmdDirect, campbus.DirectRequest{CampID: campID, Text: text})
	if resp == nil {
		return err
	}
	s.view.result(campbus.CmdDirect, resp, resultLines(directLine)...)
	return nil
}

// history shows the last events of the group and the camper's directs; an
// empty limit leaves the number to the server's default.
func (s *session) history(ctx context.Context, limit string) error {
	var req any
	if limit != "" {
		req = map[string]any{"limit": intOrText(limit)}
	}
	resp, err := s.do(ctx, campbus.CmdHistory, req)
	if resp == nil {
		return err
	}
	var body campbus.HistoryResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	lines := historyLines(body.Events)
	shown := resultLines(lines[0]) // the header; the events below it look like events
	for _, l := range lines[1:] {
		shown = append(shown, textLine{styleEvent, l})
	}
	s.view.result(campbus.CmdHistory, resp, shown...)
	return nil
}

// checkout checks out and ends the session with errQuit; the server closes
// the connection after the response.
func (s *session) checkout(ctx context.Context) error {
	resp, err := s.do(ctx, campbus.CmdCheckout, nil)
	if resp == nil {
		return err
	}
	s.view.result(campbus.CmdCheckout, resp, resultLines(checkoutLines(s.clock().Sub(s.checkedInAt))...)...)
	s.place = place{}
	return errQuit
}

func decode(resp *client.Response, v any) error {
	if err := resp.Decode(v); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
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
