package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/campbus/campbus"
)

// connect --staff (PROTOCOL.md §12): the session signs in with a staff
// token instead of checking in, and offers the staff's commands. A staff
// connection holds no seat and hears every group event of the camp, which
// the session shows as it shows a camper's. After a drop it connects again
// and signs in again; it has no group to catch up with.

// promptStaffToken asks for the staff token.
const promptStaffToken = "staff token (not shown)? "

// staffSignInTries bounds the sign-ins a terminal makes again after a
// refusal that a wait may get past.
const staffSignInTries = 5

// signIn signs in as staff with the session's token. On a console that can
// read a line unseen it asks for the token when there is none, and again
// when the server refuses it for its token; elsewhere a refusal ends the
// client with checkinRefused.
func (s *session) signIn(ctx context.Context) error {
	hider, canAsk := s.con.(secretReader)
	canAsk = canAsk && !s.script
	tries := 0
	for {
		for s.token.value == "" && canAsk {
			hider.hideNextLine()
			line, err := s.readLine(ctx, promptStaffToken)
			if err != nil {
				return err
			}
			s.token.value = strings.TrimSpace(line)
		}
		resp, err := s.do(ctx, campbus.CmdStaff, campbus.StaffRequest{Token: s.token.value})
		if err != nil {
			return err
		}
		if resp != nil {
			var body campbus.StaffResponse
			if err := decode(resp, &body); err != nil {
				return err
			}
			s.view.result(campbus.CmdStaff, resp, resultLines(staffLine(body))...)
			return nil
		}
		if canAsk && s.lastErr.Code == campbus.CodeBadToken {
			s.token.value = ""
			continue
		}
		if canAsk && retryCheckin(s.lastErr.Code) && tries < staffSignInTries {
			// Not now (refused tokens throttled, the server busy or
			// draining): a person at a terminal waits, then it asks again.
			tries++
			if err := s.pause(ctx, s.backoff.wait(tries)); err != nil {
				return err
			}
			continue
		}
		refused := &checkinRefused{cause: s.lastErr, staff: true}
		s.view.fatal(refused)
		return refused
	}
}

// executeStaff runs one of the staff's command lines; name is in lower case.
func (s *session) executeStaff(ctx context.Context, name, rest string) error {
	switch name {
	case campbus.CmdBoard:
		if strings.TrimSpace(rest) != "" {
			return s.usage(campbus.CmdBoard)
		}
		return s.board(ctx)
	case campbus.CmdAnnounce:
		if strings.TrimSpace(rest) == "" {
			return s.usage(campbus.CmdAnnounce)
		}
		return s.announce(ctx, rest)
	case campbus.CmdMute:
		fields := strings.Fields(rest)
		if len(fields) != 2 {
			return s.usage(campbus.CmdMute)
		}
		return s.mute(ctx, fields[0], fields[1])
	case campbus.CmdKick:
		campID, reason := cutWord(rest)
		if campID == "" {
			return s.usage(campbus.CmdKick)
		}
		return s.kick(ctx, campID, strings.TrimSpace(reason))
	case campbus.CmdRedact:
		fields := strings.Fields(rest)
		if len(fields) != 2 {
			return s.usage(campbus.CmdRedact)
		}
		return s.redact(ctx, fields[0], fields[1])
	case campbus.CmdRevoke:
		fields := strings.Fields(rest)
		if len(fields) != 1 {
			return s.usage(campbus.CmdRevoke)
		}
		return s.revoke(ctx, fields[0])
	}
	return s.unknown(name)
}

// redact sends group and offset as typed when they are no numbers, so that
// the server judges them and the user reads its sentence.
func (s *session) redact(ctx context.Context, group, offset string) error {
	resp, err := s.do(ctx, campbus.CmdRedact, map[string]any{"group": intOrText(group), "offset": intOrText(offset)})
	if resp == nil {
		return err
	}
	var body campbus.RedactResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	s.view.result(campbus.CmdRedact, resp, resultLines(redactLine(body))...)
	return nil
}

func (s *session) revoke(ctx context.Context, campID string) error {
	resp, err := s.do(ctx, campbus.CmdRevoke, campbus.RevokeRequest{CampID: campID})
	if resp == nil {
		return err
	}
	var body campbus.RevokeResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	s.view.result(campbus.CmdRevoke, resp, resultLines(revokeLine(body))...)
	return nil
}

func (s *session) board(ctx context.Context) error {
	resp, err := s.do(ctx, campbus.CmdBoard, nil)
	if resp == nil {
		return err
	}
	var body campbus.BoardResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	s.view.result(campbus.CmdBoard, resp, resultLines(boardLines(body)...)...)
	return nil
}

func (s *session) announce(ctx context.Context, text string) error {
	resp, err := s.do(ctx, campbus.CmdAnnounce, campbus.AnnounceRequest{Text: text})
	if resp == nil {
		return err
	}
	var body campbus.AnnounceResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	s.view.result(campbus.CmdAnnounce, resp, resultLines(announceLine(body))...)
	return nil
}

// mute sends minutes as typed when it is no number, so that the server
// judges it (400 bad-minutes) and the user reads its sentence.
func (s *session) mute(ctx context.Context, campID, minutes string) error {
	resp, err := s.do(ctx, campbus.CmdMute, map[string]any{"campId": campID, "minutes": intOrText(minutes)})
	if resp == nil {
		return err
	}
	var body campbus.MuteResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	s.view.result(campbus.CmdMute, resp, resultLines(muteLine(body))...)
	return nil
}

func (s *session) kick(ctx context.Context, campID, reason string) error {
	resp, err := s.do(ctx, campbus.CmdKick, campbus.KickRequest{CampID: campID, Reason: reason})
	if resp == nil {
		return err
	}
	var body campbus.KickResponse
	if err := decode(resp, &body); err != nil {
		return err
	}
	s.view.result(campbus.CmdKick, resp, resultLines(kickLine(body))...)
	return nil
}

// rejoinStaff signs in again on the connection just made to addr after a
// drop; it returns as rejoin does.
func (s *session) rejoinStaff(ctx context.Context, began time.Time, lost, addr string) (done bool, failed, code string, err error) {
	resp, live, err := s.collect(ctx, campbus.CmdStaff, campbus.StaffRequest{Token: s.token.value})
	switch {
	case err != nil && ctx.Err() != nil:
		return true, "", "", ctx.Err()
	case err != nil:
		return false, "the connection ended again", "", nil
	case resp.Err != nil && retryCheckin(resp.Err.Code):
		s.client.Close()
		return false, "staff sign-in refused for now: " + printable(resp.Err.Message), resp.Err.Code, nil
	case resp.Err != nil:
		s.view.failure(campbus.CmdStaff, resp, hintFor(campbus.CmdStaff, nil, resp.Err))
		refused := &checkinRefused{cause: resp.Err, again: true, staff: true}
		s.view.fatal(refused)
		return true, "", "", refused
	}
	var body campbus.StaffResponse
	if err := decode(resp, &body); err != nil {
		return true, "", "", err
	}
	away := s.clock().Sub(began)
	where := s.reconnectedTo(lost, addr)
	s.view.connection(connectionNote{State: "reconnected", AfterMs: away.Milliseconds(), Addr: addr,
		Node: s.book.names[addr], Moved: addr != lost,
		Text: fmt.Sprintf("reconnected%s after %s; signed in again as staff %s", where, formatAway(away), printable(body.Name))})
	for _, ev := range live {
		s.showEvent(ev)
	}
	return true, "", "", nil
}
