package campbus

import (
	"fmt"
	"net/http"
)

// Error codes, as listed in PROTOCOL.md §3. Each travels in the body of an
// error response as {"error": "<sentence>", "code": "<code>"}.
const (
	CodeBadRequest         = "bad-request"
	CodeBadCampID          = "bad-camp-id"
	CodeBadDay             = "bad-day"
	CodeBadMaxCount        = "bad-max-count"
	CodeBadLimit           = "bad-limit"
	CodeBadAfter           = "bad-after"
	CodeBadEpoch           = "bad-epoch"
	CodeBadToken           = "bad-token"
	CodeNotCheckedIn       = "not-checked-in"
	CodeNotHost            = "not-host"
	CodeUnknownCommand     = "unknown-command"
	CodeNoMission          = "no-mission"
	CodeTargetNotCheckedIn = "not-checked-in-target"
	CodeMethodNotAllowed   = "method-not-allowed"
	CodeAlreadyCheckedIn   = "already-checked-in"
	CodeCampIDInUse        = "camp-id-in-use"
	CodeSessionActive      = "session-active"
	CodeNoSession          = "no-session"
	CodeLimitReached       = "limit-reached"
	CodeEpochChanged       = "epoch-changed"
	CodeTooLarge           = "too-large"
	CodeMalformed          = "malformed"
	CodeRateLimited        = "rate-limited"
	CodeStorageFull        = "storage-full"
	CodeShuttingDown       = "shutting-down"
	CodeTooManyConnections = "too-many-connections"
	CodeInternal           = "internal"
	CodeUnavailable        = "unavailable"
	CodeForbidden          = "forbidden"
	CodeMuted              = "muted"
	CodeBadMinutes         = "bad-minutes"
	CodeNoMessage          = "no-message"
)

// Error is a protocol error: an HTTP status, a machine-readable code and a
// sentence for a person. Fatal errors close the connection after the reply
// (the frame reader cannot find the next frame).
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"error"`
	// RetryAfter, in whole seconds, tells the client when to try again
	// (503 unavailable; the TCP response carries it as Retry-After too).
	RetryAfter int `json:"retryAfter,omitempty"`
	// Epoch is set on epoch-changed: the epoch of the log there is now
	// (PROTOCOL.md §11).
	Epoch string `json:"epoch,omitempty"`
	Fatal bool   `json:"-"`
}

// Error implements the error interface.
func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Errorf returns a non-fatal protocol error with a formatted sentence.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// FatalErrorf returns a protocol error after which the connection is closed.
func FatalErrorf(status int, code, format string, args ...any) *Error {
	e := Errorf(status, code, format, args...)
	e.Fatal = true
	return e
}

// Unavailable is the 503 for a request the camp could not decide in time
// because part of its state has no leader (a node was lost and the others
// are electing one, PROTOCOL.md §11): the client tries again in a second.
func Unavailable(command string) *Error {
	e := Errorf(http.StatusServiceUnavailable, CodeUnavailable,
		"the camp is electing a new leader for its log after losing a node and could not answer %s in time; try again in 1 s", command)
	e.RetryAfter = 1
	return e
}

// BadToken is the 401 for a checkin whose token does not admit its campId
// (PROTOCOL.md §9); why says what is wrong with the token, never what it is.
func BadToken(why string) *Error {
	return Errorf(http.StatusUnauthorized, CodeBadToken, "%s", why)
}

// StatusText returns the reason phrase for an HTTP status code used by the
// protocol ("OK", "Conflict", ...).
func StatusText(status int) string {
	if status == http.StatusRequestEntityTooLarge {
		return "Content Too Large" // RFC 9110's name, as PROTOCOL.md writes it
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Unknown"
}
