package session

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/auth"
	"github.com/campbus/campbus/bus"
)

const testSecret = "the camp's secret, at least sixteen bytes"

func testTokens(t testing.TB) *auth.Secret {
	t.Helper()
	s, err := auth.NewSecret(testSecret)
	require.NoError(t, err)
	return s
}

func mint(t testing.TB, s *auth.Secret, campID string) string {
	t.Helper()
	tok, err := s.Mint(campID, time.Hour, time.Now())
	require.NoError(t, err)
	return tok
}

// checkins returns the checkin requests the camp received.
func (c *fakeCamp) checkins() []*bus.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*bus.Request
	for _, r := range c.seen {
		if r.Command == campbus.CmdCheckin {
			out = append(out, r)
		}
	}
	return out
}

func TestATokenNeverGoesOnTheBusOnlyItsVerdict(t *testing.T) {
	tokens := testTokens(t)
	good := mint(t, tokens, "J004")
	for _, tc := range []struct {
		name    string
		tokens  *auth.Secret
		body    string
		status  int
		verdict bus.TokenVerdict
	}{
		{"without a secret a token is dropped unread", nil, `{"campId":"J004","token":"` + good + `"}`, 200, bus.TokenVerdict{}},
		{"a good token travels as the campId it is for", tokens, `{"campId":"J004","token":"` + good + `"}`, 200, bus.TokenVerdict{For: "J004"}},
		{"a missing token is refused", tokens, `{"campId":"J004"}`, 401, bus.TokenVerdict{Refused: auth.ErrMissing.Error()}},
		{"a token that is no string is refused", tokens, `{"campId":"J004","token":42}`, 401, bus.TokenVerdict{Refused: `"token" must be a string: the token you were given`}},
		{"a token under another name travels neither", tokens, `{"campId":"J004","Token":"` + good + `"}`, 401, bus.TokenVerdict{Refused: auth.ErrMissing.Error()}},
		{"a token for another campId is refused by the camp", tokens, `{"campId":"J005","token":"` + good + `"}`, 401, bus.TokenVerdict{For: "J004"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, camp := startHub(t, Options{Tokens: tc.tokens})
			f, _ := serve(h)
			f.in <- &Request{Command: campbus.CmdCheckin, ID: "1", Body: []byte(tc.body)}
			fr := f.waitFrames(t, 1)
			assert.Equal(t, tc.status, fr[0].Status, "%s", fr[0].Body)
			seen := camp.checkins()
			require.Len(t, seen, 1)
			got := seen[0].Token
			if tc.verdict.For != "" {
				// A good token also says when it was minted (to the
				// second), for the camp's revocations.
				assert.WithinDuration(t, time.Now(), got.Issued, 2*time.Second)
				got.Issued = time.Time{}
			}
			assert.Equal(t, tc.verdict, got)
			assert.NotContains(t, strings.ToLower(string(seen[0].Body)), "token", "the body on the bus")
			assert.NotContains(t, string(seen[0].Msg().Data)+fmt.Sprint(seen[0].Msg().Header), good)
		})
	}
}

func TestRefusedTokensMakeTheirConnectionWait(t *testing.T) {
	tokens := testTokens(t)
	h, camp := startHub(t, Options{Tokens: tokens})
	f, _ := serve(h)
	bad := `{"campId":"J004","token":"` + mint(t, testTokens(t), "J005") + `"}`
	for i := range FreeBadTokens {
		f.in <- &Request{Command: campbus.CmdCheckin, ID: fmt.Sprint(i), Body: []byte(bad)}
		fr := f.waitFrames(t, i+1)
		require.Equal(t, 401, fr[i].Status, "refusal %d is answered at once", i+1)
	}
	// Now even a good token waits: the checkin is refused unread.
	good := []byte(`{"campId":"J004","token":"` + mint(t, tokens, "J004") + `"}`)
	f.in <- &Request{Command: campbus.CmdCheckin, ID: "early", Body: good}
	fr := f.waitFrames(t, FreeBadTokens+1)
	last := fr[len(fr)-1]
	assert.Equal(t, 429, last.Status)
	assert.Contains(t, string(last.Body), campbus.CodeRateLimited)
	assert.Contains(t, string(last.Body), "too many refused tokens")
	assert.Len(t, camp.checkins(), FreeBadTokens, "the throttled checkin never reached the bus")

	// After the wait the good token is taken; the connection stayed open.
	deadline := time.Now().Add(FirstTokenWait + 5*time.Second)
	for {
		f.in <- &Request{Command: campbus.CmdCheckin, ID: "again", Body: good}
		fr = f.waitFrames(t, len(fr)+1)
		if fr[len(fr)-1].Status != 429 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling the wait out, under its deadline
	}
	assert.Equal(t, 200, fr[len(fr)-1].Status, "%s", fr[len(fr)-1].Body)
	st := h.Stats()
	assert.Equal(t, uint64(FreeBadTokens), st.BadTokens)
	assert.Equal(t, uint64(len(fr)-FreeBadTokens-1), st.TokenThrottled)
	assert.Equal(t, st.BadTokens, st.ByReason()["bad-token"])
	assert.Equal(t, st.TokenThrottled, st.ByReason()["token-throttled"])
}

func TestTheWaitAfterRefusedTokensDoublesUpToItsCap(t *testing.T) {
	for refused, want := range map[int]time.Duration{
		0: 0, 1: 0, FreeBadTokens - 1: 0,
		FreeBadTokens:     FirstTokenWait,
		FreeBadTokens + 1: 2 * FirstTokenWait,
		FreeBadTokens + 3: 8 * FirstTokenWait,
		FreeBadTokens + 6: MaxTokenWait,
		1000:              MaxTokenWait,
	} {
		assert.Equal(t, want, tokenDelay(refused), "after %d refused tokens", refused)
	}
}

func TestTakeTokenLeavesEveryOtherMember(t *testing.T) {
	for _, tc := range []struct {
		name, body, rest, token string
	}{
		{"a checkin with a token", `{"campId":"J004","token":"abc"}`, `{"campId":"J004"}`, `"abc"`},
		{"no token: the body as it came", `{ "campId" : "J004" }`, `{ "campId" : "J004" }`, ``},
		{"every case of the name goes", `{"campId":"J004","TOKEN":"x","token":"y"}`, `{"campId":"J004"}`, `"y"`},
		{"an escaped name is the name", `{"campId":"J004","\u0074oken":"z"}`, `{"campId":"J004"}`, `"z"`},
		{"an empty body: as it came", " ", " ", ``},
		{"not an object: a stand-in", `["token"]`, `null`, ``},
		{"null: a stand-in", `null`, `null`, ``},
		{"not JSON: a stand-in", `{"token":"abc"`, `null`, ``},
		{"not UTF-8: a stand-in", "{\"token\":\"abc\xff\"}", "\xff", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rest, token, found := takeToken([]byte(tc.body))
			assert.Equal(t, tc.rest, string(rest))
			assert.Equal(t, tc.token, string(token))
			assert.Equal(t, tc.token != "", found)
		})
	}
}

// FuzzCheckinToken feeds checkin bodies to the token's path through the
// session: whatever the body, the body sent on the bus holds no token (a
// broken one goes as a stand-in), an object keeps every other member, and
// the verdict admits a campId only for a token the camp's secret signed.
func FuzzCheckinToken(f *testing.F) {
	tokens := testTokens(f)
	good := mint(f, tokens, "J004")
	parts := strings.Split(good, ".")
	for _, seed := range []string{
		`{"campId":"J004","token":"` + good + `"}`,
		`{"campId":"J004","token":"` + parts[0] + "." + parts[1] + `."}`,
		`{"campId":"J004","token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJKMDA0IiwiZXhwIjo5OTk5OTk5OTk5fQ."}`,
		`{"campId":"J004","token":null}`,
		`{"campId":"J004","token":["a"],"Token":"b"}`,
		`{"campId":"J004"}`,
		``,
	} {
		f.Add([]byte(seed))
	}
	h := &Hub{opts: Options{Tokens: tokens}}
	f.Fuzz(func(t *testing.T, body []byte) {
		s := &Session{h: h, frameAt: time.Now()}
		rest, verdict := s.judgeToken(body)
		require.True(t, verdict.Needed(), "with a secret every checkin is judged")
		var in, out map[string]json.RawMessage
		if !utf8.Valid(body) || json.Unmarshal(body, &in) != nil || in == nil {
			if strings.TrimSpace(string(body)) != "" {
				assert.Contains(t, []string{notUTF8, notAnObject}, string(rest), "a broken body goes as a stand-in")
			}
		} else {
			require.NoError(t, json.Unmarshal(rest, &out))
			for name := range out {
				assert.False(t, strings.EqualFold(name, "token"), "member %q left in %q", name, rest)
			}
			for name, v := range in {
				if !strings.EqualFold(name, "token") {
					assert.JSONEq(t, string(v), string(out[name]), "member %q", name)
				}
			}
		}
		if verdict.For != "" {
			_, raw, _ := takeToken(body)
			var token string
			require.NoError(t, json.Unmarshal(raw, &token))
			id, err := tokens.Check(token, s.frameAt)
			require.NoError(t, err)
			assert.Equal(t, id, verdict.For)
		}
		if verdict.Refused != "" && len(body) > 20 {
			assert.NotContains(t, verdict.Refused, string(body), "the sentence never repeats what came")
		}
	})
}
