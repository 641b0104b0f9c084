package handlers

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"unicode/utf8"

	"github.com/campbus/campbus"
)

// fields is a decoded request body: a JSON object. Each accessor returns the
// protocol error PROTOCOL.md §3 gives for a missing or wrong field.
type fields map[string]json.RawMessage

// decodeBody decodes a request body. An empty body counts as {}.
func decodeBody(body []byte) (fields, error) {
	f := fields{}
	if len(bytes.TrimSpace(body)) == 0 {
		return f, nil
	}
	if !utf8.Valid(body) {
		return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadRequest, "body is not valid UTF-8")
	}
	if err := json.Unmarshal(body, &f); err != nil || f == nil {
		return nil, campbus.Errorf(http.StatusBadRequest, campbus.CodeBadRequest, "body is not a JSON object")
	}
	return f, nil
}

// str returns a string field; ok is false when it is missing or not a string.
func (f fields) str(name string) (string, bool) {
	raw, present := f[name]
	if !present || isNull(raw) {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// integer returns an integer field within [min, max]; ok is false when it is
// missing, not a number, not integral or out of bounds.
func (f fields) integer(name string, min, max int) (int, bool) {
	raw, present := f[name]
	if !present || isNull(raw) {
		return 0, false
	}
	var x float64
	if err := json.Unmarshal(raw, &x); err != nil || x != math.Trunc(x) ||
		x < float64(min) || x > float64(max) || math.Abs(x) >= 1<<53 {
		// Past 2^53 a float64 no longer holds every integer: refuse
		// rather than round.
		return 0, false
	}
	return int(x), true
}

// isNull reports whether a raw JSON value is null, which no field accepts.
func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// text returns the "text" field: a non-empty string.
func (f fields) text() (string, error) {
	t, ok := f.str("text")
	if !ok || t == "" {
		return "", campbus.Errorf(http.StatusBadRequest, campbus.CodeBadRequest, `"text" must be a non-empty string`)
	}
	return t, nil
}

// campID returns the "campId" field, checked against the range.
func (f fields) campID(r campbus.IDRange) (string, error) {
	id, ok := f.str("campId")
	if !ok {
		return "", campbus.Errorf(http.StatusBadRequest, campbus.CodeBadCampID,
			`"campId" must be a string such as %q (camp ids run from %s)`, r.Format(r.Min), r)
	}
	if err := r.Check(id); err != nil {
		return "", err
	}
	return id, nil
}
