package main

import (
	"context"
	"strings"
)

// The token connect shows at checkin, for a camp whose server runs with a
// secret (PROTOCOL.md §9): from --token or CAMPBUS_TOKEN, or typed at a
// prompt when the server refuses a checkin with 401 bad-token. The prompt
// shows nothing of what is typed and keeps it out of the history, so it is
// asked only on a console that can do that (the line editor, on a
// terminal). A script, --json and a terminal that cannot edit get no
// prompt: the 401 and its hint are shown, and the client goes on as after
// any refused checkin.

// promptToken asks for the token.
const promptToken = "token (not shown)? "

// campToken is a session's token.
type campToken struct {
	value   string
	refused bool // the last error response was 401 bad-token
}

// secretReader is a console that can read one line without showing it.
type secretReader interface {
	hideNextLine()
}

// withToken gives the session the token of --token or CAMPBUS_TOKEN.
func (s *session) withToken(token string) *session {
	s.token.value = strings.TrimSpace(token)
	return s
}

// askToken asks for a token after a checkin refused for its token, where it
// can be typed unseen. It reports whether a token was typed, to try the
// checkin again with; an empty line gives up (back to the campId prompt).
func (s *session) askToken(ctx context.Context) (bool, error) {
	hider, ok := s.con.(secretReader)
	if !s.token.refused || !ok {
		return false, nil
	}
	s.token.refused = false
	hider.hideNextLine()
	line, err := s.readLine(ctx, promptToken)
	if err != nil {
		return false, err
	}
	s.token.value = strings.TrimSpace(line)
	return s.token.value != "", nil
}
