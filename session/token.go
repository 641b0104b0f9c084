package session

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// Checkin tokens (PROTOCOL.md §9). A token is checked here, by the session
// of the node the camper is connected to, before its checkin goes on the
// bus: the request carries the verdict (bus.TokenVerdict), never the token,
// so no token is on the bus for an observer, a route to another node or a
// handler's log to see. The checkin handler applies the verdict after the
// errors of the body and the campId, which keeps §3's order in one place.
// Every node of a cluster must be given the same secret: each judges the
// tokens of its own campers.
//
// Refused tokens slow their connection down, so that tokens cannot be
// guessed fast: see tokenDelay.

// Refused tokens on one connection: the first FreeBadTokens cost nothing;
// after that a checkin waits out a delay, doubled at each refusal.
const (
	FreeBadTokens  = 5
	FirstTokenWait = time.Second
	MaxTokenWait   = time.Minute
)

// tokenDelay returns how long a connection's next checkin must wait after
// its refused-th refused token: nothing for the first FreeBadTokens, then
// FirstTokenWait, twice that after the next refusal, and so on up to
// MaxTokenWait.
func tokenDelay(refused int) time.Duration {
	over := refused - FreeBadTokens
	switch {
	case over < 0:
		return 0
	case over >= 16: // far past MaxTokenWait; the shift would overflow later
		return MaxTokenWait
	}
	return min(FirstTokenWait<<over, MaxTokenWait)
}

// tokenThrottled answers 429 rate-limited a checkin that comes before the
// wait of its connection's refused tokens is over; the token is not looked
// at, and the wait does not grow. Nil when the checkin may go on.
func (s *Session) tokenThrottled() *campbus.Error {
	if !s.frameAt.Before(s.tokenWaitUntil) {
		return nil
	}
	s.h.stats.tokenThrottled.Add(1)
	wait := s.tokenWaitUntil.Sub(s.frameAt).Round(100 * time.Millisecond)
	return campbus.Errorf(http.StatusTooManyRequests, campbus.CodeRateLimited,
		"too many refused tokens on this connection: wait %v before checking in again", max(wait, 100*time.Millisecond))
}

// noteTokenOutcome counts a checkin refused for its token, and sets the
// wait before the next one.
func (s *Session) noteTokenOutcome(code string) {
	if code != campbus.CodeBadToken {
		return
	}
	s.h.stats.badTokens.Add(1)
	s.badTokens++
	s.tokenWaitUntil = s.frameAt.Add(tokenDelay(s.badTokens))
}

// judgeToken takes the token out of a checkin's body and, when the hub has
// a secret, judges it at the time the request was read. It returns the body
// to send on the bus and the verdict to send with it.
func (s *Session) judgeToken(body []byte) ([]byte, bus.TokenVerdict) {
	rest, raw, found := takeToken(body)
	tokens := s.h.opts.Tokens
	if tokens == nil {
		return rest, bus.TokenVerdict{}
	}
	var token string
	if found && json.Unmarshal(raw, &token) != nil {
		return rest, bus.TokenVerdict{Refused: `"token" must be a string: the token you were given`}
	}
	campID, issued, err := tokens.CheckIssued(token, s.frameAt)
	if err != nil {
		return rest, bus.TokenVerdict{Refused: err.Error()}
	}
	return rest, bus.TokenVerdict{For: campID, Issued: issued}
}

// takeToken returns a checkin body without its "token" member (and without
// any member whose name is "token" in other letter cases, so that a token
// misnamed does not travel either), and that member's raw value.
//
// A body that is not a JSON object in UTF-8 has no member to take out; the
// handler refuses it with 400 bad-request whatever it holds. So that not
// even a token inside such a body travels, it is replaced by a stand-in with
// the same fault, which the handler answers with the same sentence.
func takeToken(body []byte) (rest []byte, token json.RawMessage, found bool) {
	var members map[string]json.RawMessage
	switch {
	case !utf8.Valid(body):
		return []byte(notUTF8), nil, false
	case len(bytes.TrimSpace(body)) == 0:
		return body, nil, false // counts as {}
	case json.Unmarshal(body, &members) != nil || members == nil:
		return []byte(notAnObject), nil, false
	}
	token, found = members["token"]
	cut := false
	for name := range members {
		if strings.EqualFold(name, "token") {
			delete(members, name)
			cut = true
		}
	}
	if !cut {
		return body, nil, false
	}
	rest, err := json.Marshal(members)
	if err != nil {
		return []byte(notAnObject), nil, false // cannot happen: each value was decoded as JSON
	}
	return rest, token, found
}

// Stand-ins for bodies the handler refuses for their form.
const (
	notUTF8     = "\xff"
	notAnObject = "null"
)
