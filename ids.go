package campbus

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// DefaultCampIDs is the range of camp ids admitted when no flag says otherwise.
const DefaultCampIDs = "J001-J384"

// IDRange is a range of camp ids such as J001-J384: a prefix of letters, a fixed
// number of digits, and the lowest and highest number admitted.
type IDRange struct {
	Prefix   string
	Width    int
	Min, Max int
}

// ParseIDRange parses "J001-J384". Both bounds must share the prefix and the
// width; the width (1 to 9 digits) sets the form of every id in the range.
func ParseIDRange(s string) (IDRange, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return IDRange{}, fmt.Errorf("camp id range %q: want LOW-HIGH, e.g. %s", s, DefaultCampIDs)
	}
	p1, w1, n1, err1 := splitID(lo)
	p2, w2, n2, err2 := splitID(hi)
	switch {
	case err1 != nil:
		return IDRange{}, fmt.Errorf("camp id range %q: %w", s, err1)
	case err2 != nil:
		return IDRange{}, fmt.Errorf("camp id range %q: %w", s, err2)
	case p1 != p2 || w1 != w2:
		return IDRange{}, fmt.Errorf("camp id range %q: both bounds need the same letters and number of digits", s)
	case n1 > n2:
		return IDRange{}, fmt.Errorf("camp id range %q: low bound is above high bound", s)
	}
	return IDRange{Prefix: p1, Width: w1, Min: n1, Max: n2}, nil
}

// MustParseIDRange is ParseIDRange for constants known to be valid.
func MustParseIDRange(s string) IDRange {
	r, err := ParseIDRange(s)
	if err != nil {
		panic(err)
	}
	return r
}

func splitID(id string) (prefix string, width, n int, err error) {
	i := 0
	for i < len(id) && isLetter(id[i]) {
		i++
	}
	prefix, digits := id[:i], id[i:]
	if prefix == "" || len(digits) == 0 || len(digits) > 9 || !allDigits(digits) {
		return "", 0, 0, fmt.Errorf("%q is not letters followed by 1 to 9 digits", id)
	}
	n, _ = strconv.Atoi(digits)
	return prefix, len(digits), n, nil
}

func isLetter(c byte) bool { return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the range as it is written on the command line.
func (r IDRange) String() string { return r.Format(r.Min) + "-" + r.Format(r.Max) }

// Format returns the id with number n in this range's form.
func (r IDRange) Format(n int) string { return fmt.Sprintf("%s%0*d", r.Prefix, r.Width, n) }

// Size returns how many ids the range admits.
func (r IDRange) Size() int { return r.Max - r.Min + 1 }

// Check returns a bad-camp-id error unless id has the range's form and lies
// inside it.
func (r IDRange) Check(id string) *Error {
	if len(id) != len(r.Prefix)+r.Width || !strings.HasPrefix(id, r.Prefix) || !allDigits(id[len(r.Prefix):]) {
		return Errorf(http.StatusBadRequest, CodeBadCampID,
			"camp id %q is malformed: want %s followed by %d digits, from %s", id, r.Prefix, r.Width, r)
	}
	n, _ := strconv.Atoi(id[len(r.Prefix):])
	if n < r.Min || n > r.Max {
		return Errorf(http.StatusBadRequest, CodeBadCampID, "camp id %s is out of range: camp ids run from %s", id, r)
	}
	return nil
}
