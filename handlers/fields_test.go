package handlers

import (
	"math"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/bus"
)

// requireProtocolError requires err to be a non-fatal *campbus.Error with
// status 400 and code, and returns it.
func requireProtocolError(t *testing.T, err error, code string) *campbus.Error {
	t.Helper()
	require.Error(t, err)
	var e *campbus.Error
	require.ErrorAs(t, err, &e, "want a protocol error, got %T %v", err, err)
	assert.Equal(t, http.StatusBadRequest, e.Status)
	assert.Equal(t, code, e.Code)
	assert.False(t, e.Fatal, "a field error leaves the connection open")
	return e
}

func TestDecodeBodyAcceptsObjectsAndEmptyBodies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     []byte
		wantKeys []string
	}{
		{"no body counts as an empty object", nil, nil},
		{"an empty body counts as an empty object", []byte{}, nil},
		{"a body of whitespace counts as an empty object", []byte(" \t\r\n "), nil},
		{"an empty object has no fields", []byte(`{}`), nil},
		{"an object gives its fields", []byte(`{"day":4,"text":"hi"}`), []string{"day", "text"}},
		{"whitespace around an object is allowed", []byte(" {\"day\":4}\r\n"), []string{"day"}},
		{"Hangul text is valid UTF-8", []byte(`{"text":"반갑습니다"}`), []string{"text"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := decodeBody(tc.body)
			require.NoError(t, err)
			require.NotNil(t, f, "the fields are never nil, so lookups work")
			keys := make([]string, 0, len(f))
			for k := range f {
				keys = append(keys, k)
			}
			assert.ElementsMatch(t, tc.wantKeys, keys)
		})
	}
}

func TestDecodeBodyRefusesWhatIsNotAJSONObject(t *testing.T) {
	for _, tc := range []struct {
		name, body, wantMsg string
	}{
		{"an array is not an object", `[]`, "not a JSON object"},
		{"an array of objects is not an object", `[{"day":4}]`, "not a JSON object"},
		{"null is not an object", `null`, "not a JSON object"},
		{"a string is not an object", `"J004"`, "not a JSON object"},
		{"a number is not an object", `4`, "not a JSON object"},
		{"a boolean is not an object", `true`, "not a JSON object"},
		{"an unterminated object is refused", `{"day":4`, "not a JSON object"},
		{"text after the object is refused", `{"day":4} x`, "not a JSON object"},
		{"two objects are refused", `{"day":4}{"day":5}`, "not a JSON object"},
		{"a bare word is refused", `checkin J004`, "not a JSON object"},
		{"invalid UTF-8 inside a string is refused", "{\"text\":\"\xff\"}", "not valid UTF-8"},
		{"a truncated Hangul syllable is refused", "{\"text\":\"\xeb\xb0\"}", "not valid UTF-8"},
		{"a lone invalid byte is refused", "\xff", "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := decodeBody([]byte(tc.body))
			e := requireProtocolError(t, err, campbus.CodeBadRequest)
			assert.Contains(t, e.Message, tc.wantMsg)
			assert.Nil(t, f)
		})
	}
}

// mustDecode decodes a body that the test knows to be a JSON object.
func mustDecode(t *testing.T, body string) fields {
	t.Helper()
	f, err := decodeBody([]byte(body))
	require.NoError(t, err, "body %s", body)
	return f
}

func TestFieldsInteger(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		min, max int
		want     int
		wantOK   bool
	}{
		{"4 is an integer", `{"n":4}`, 1, 10, 4, true},
		{"4.0 is the integer 4", `{"n":4.0}`, 1, 10, 4, true},
		{"4e0 is the integer 4", `{"n":4e0}`, 1, 10, 4, true},
		{"1e3 is the integer 1000", `{"n":1e3}`, 1, 1000, 1000, true},
		{"4.5 is not an integer", `{"n":4.5}`, 1, 10, 0, false},
		{"a fraction just above an integer is not an integer", `{"n":4.000001}`, 1, 10, 0, false},
		{"the string \"4\" is not an integer", `{"n":"4"}`, 1, 10, 0, false},
		{"true is not an integer", `{"n":true}`, 1, 10, 0, false},
		{"an array is not an integer", `{"n":[4]}`, 1, 10, 0, false},
		{"an object is not an integer", `{"n":{"v":4}}`, 1, 10, 0, false},
		{"a missing field is not an integer", `{}`, 1, 10, 0, false},
		{"another field does not count", `{"m":4}`, 1, 10, 0, false},
		{"-1 is below a minimum of 1", `{"n":-1}`, 1, 10, 0, false},
		{"0 is below a minimum of 1", `{"n":0}`, 1, 10, 0, false},
		{"the minimum itself is admitted", `{"n":1}`, 1, 10, 1, true},
		{"the maximum itself is admitted", `{"n":10}`, 1, 10, 10, true},
		{"one past the maximum is refused", `{"n":11}`, 1, 10, 0, false},
		{"-1 is admitted when the bounds allow negatives", `{"n":-1}`, -5, 5, -1, true},
		{"a huge number is above the maximum", `{"n":99999999999999999999}`, 1, 1<<31 - 1, 0, false},
		{"a huge negative number is below the minimum", `{"n":-99999999999999999999}`, 1, 1<<31 - 1, 0, false},
		{"a number beyond float64 is refused", `{"n":1e400}`, 1, 1<<31 - 1, 0, false},
		{"2^31 is above a maximum of 2^31-1", `{"n":2147483648}`, 1, 1<<31 - 1, 0, false},
		{"2^31-1 is admitted up to 2^31-1", `{"n":2147483647}`, 1, 1<<31 - 1, 1<<31 - 1, true},
		{"null is not an integer", `{"n":null}`, 1, 10, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := mustDecode(t, tc.body).integer("n", tc.min, tc.max)
			assert.Equal(t, tc.wantOK, ok, "ok for %s in [%d, %d]", tc.body, tc.min, tc.max)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFieldsText(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		wantErr          bool
	}{
		{"a string is the text", `{"text":"hello"}`, "hello", false},
		{"Hangul is kept as it is", `{"text":"반갑습니다"}`, "반갑습니다", false},
		{"escapes are decoded", `{"text":"a\nb \u00e9"}`, "a\nb é", false},
		{"spaces are a text", `{"text":"  "}`, "  ", false},
		{"an empty string is refused", `{"text":""}`, "", true},
		{"a missing text is refused", `{}`, "", true},
		{"a number is refused", `{"text":5}`, "", true},
		{"an array is refused", `{"text":["hi"]}`, "", true},
		{"null is refused", `{"text":null}`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustDecode(t, tc.body).text()
			if !tc.wantErr {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			e := requireProtocolError(t, err, campbus.CodeBadRequest)
			assert.Contains(t, e.Message, `"text"`)
			assert.Empty(t, got)
		})
	}
}

func TestFieldsCampID(t *testing.T) {
	ids := campbus.MustParseIDRange(campbus.DefaultCampIDs)
	for _, tc := range []struct {
		name, body, want string
		wantMsg          string // a part of the sentence when the id is refused
	}{
		{"an id in the range is returned", `{"campId":"J004"}`, "J004", ""},
		{"the highest id is returned", `{"campId":"J384"}`, "J384", ""},
		{"a missing campId says what is wanted", `{}`, "", `"campId" must be a string such as "J001"`},
		{"a number says what is wanted", `{"campId":4}`, "", `"campId" must be a string such as "J001"`},
		{"an array says what is wanted", `{"campId":["J004"]}`, "", `"campId" must be a string`},
		{"an id out of range is refused", `{"campId":"J999"}`, "", "J999 is out of range"},
		{"a malformed id is refused", `{"campId":"J04"}`, "", `"J04" is malformed`},
		{"a lower-case id is refused", `{"campId":"j004"}`, "", `"j004" is malformed`},
		{"null is refused", `{"campId":null}`, "", "camp id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustDecode(t, tc.body).campID(ids)
			if tc.wantMsg == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			e := requireProtocolError(t, err, campbus.CodeBadCampID)
			assert.Contains(t, e.Message, tc.wantMsg)
			assert.Contains(t, e.Message, "J001-J384", "the sentence names the range")
			assert.Empty(t, got)
		})
	}
}

// TestFieldsRefuseNullAndHugeNumbers covers values that JSON decoding would
// quietly turn into something else.
func TestFieldsRefuseNullAndHugeNumbers(t *testing.T) {
	t.Run("null is not the integer 0 when 0 is within the bounds", func(t *testing.T) {
		_, ok := mustDecode(t, `{"n":null}`).integer("n", 0, 10)
		assert.False(t, ok)
	})
	t.Run("2^63-1 does not wrap to a negative number under a maximum of MaxInt", func(t *testing.T) {
		got, ok := mustDecode(t, `{"n":9223372036854775807}`).integer("n", 0, math.MaxInt)
		if ok {
			assert.GreaterOrEqual(t, got, 0, "an accepted integer lies within the bounds")
		}
	})
	t.Run("a campId of null is told that a string is wanted", func(t *testing.T) {
		_, err := mustDecode(t, `{"campId":null}`).campID(campbus.MustParseIDRange(campbus.DefaultCampIDs))
		e := requireProtocolError(t, err, campbus.CodeBadCampID)
		assert.Contains(t, e.Message, `"campId" must be a string`)
	})
}

func TestATokenVerdictAdmitsOnlyTheCampIdItIsFor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		verdict bus.TokenVerdict
		id      string
		refused string // "" when admitted
	}{
		{"no token needed admits anyone", bus.TokenVerdict{}, "J004", ""},
		{"a token for the campId admits it", bus.TokenVerdict{For: "J004"}, "J004", ""},
		{"a token for another campId is refused", bus.TokenVerdict{For: "J005"}, "J004", "the token is for J005, not J004"},
		{"a refused token is refused with its reason", bus.TokenVerdict{Refused: "the token has expired"}, "J004", "the token has expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tokenAdmits(tc.verdict, tc.id)
			if tc.refused == "" {
				assert.NoError(t, err)
				return
			}
			var perr *campbus.Error
			require.ErrorAs(t, err, &perr)
			assert.Equal(t, http.StatusUnauthorized, perr.Status)
			assert.Equal(t, campbus.CodeBadToken, perr.Code)
			assert.Equal(t, tc.refused, perr.Message)
		})
	}
}
