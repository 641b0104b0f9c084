package session

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/campbus/campbus"
)

// signInStaff is the staff command (PROTOCOL.md §12): the connection
// becomes a staff member's when the token shown is a staff token signed
// with the camp's secret. It is checked here, at the front-end, as a
// camper's token is, and never travels on the bus. A staff connection
// holds no seat; it gets every group event of the camp, and its staff
// commands go on the bus naming the member.
func (s *Session) signInStaff(req *Request) {
	answer := func(status int, body any, code string) {
		b, _ := json.Marshal(body)
		s.logRequestAs(campbus.CmdStaff, s.staff, status, code, s.frameAt)
		s.send(s.t.Codec().Response(status, req.ID, b))
	}
	refuse := func(perr *campbus.Error) { answer(perr.Status, perr, perr.Code) }
	if perr := s.tokenThrottled(); perr != nil {
		refuse(perr)
		return
	}
	tokens := s.h.opts.Tokens
	if tokens == nil {
		refuse(campbus.Errorf(http.StatusForbidden, campbus.CodeForbidden,
			"this camp runs without a secret (--auth-secret), so nobody can sign in as staff; start the server with one"))
		return
	}
	var body campbus.StaffRequest
	if len(req.Body) > 0 && json.Unmarshal(req.Body, &body) != nil {
		refuse(campbus.Errorf(http.StatusBadRequest, campbus.CodeBadRequest, `body must be {"token": "<your staff token>"}`))
		return
	}
	name, until, err := tokens.CheckStaff(body.Token, s.frameAt)
	if err != nil {
		s.noteTokenOutcome(campbus.CodeBadToken)
		refuse(campbus.BadToken(err.Error()))
		return
	}
	s.staff, s.staffUntil = name, until
	s.h.addStaff(s, until)
	s.h.log.Info("staff signed in", "session", s.id, "staff", name, "transport", s.t.Name(), "remote", s.remote)
	answer(http.StatusOK, campbus.StaffResponse{Name: name, Expires: until.UTC().Format(time.RFC3339)}, "")
}

// kicked ends a session whose camper staff kicked: frame, the kicked
// event, is its last, then the transport closes with a policy reason. The
// camp checked the camper out already, so the session's own checkout is
// told not-checked-in and forgets it.
func (s *Session) kicked(frame []byte) {
	s.h.stats.kicked.Add(1)
	s.h.log.Info("connection closed: kicked by staff", "session", s.id, "transport", s.t.Name(), "remote", s.remote)
	s.endWith(frame, ClosePolicy)
}
