package node

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/auth"
	"github.com/campbus/campbus/bus"
)

const campSecret = "a secret the camp's operator keeps"

// mintFor mints a token for campID with the camp's secret, as `campbus
// token` does.
func mintFor(t *testing.T, campID string) string {
	t.Helper()
	s, err := auth.NewSecret(campSecret)
	require.NoError(t, err)
	tok, err := s.Mint(campID, time.Hour, time.Now())
	require.NoError(t, err)
	return tok
}

// signedWith signs claims as some other JWT library would.
func signedWith(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return tok
}

type checkinWithToken struct {
	CampID string `json:"campId"`
	Token  any    `json:"token,omitempty"`
}

func TestACampWithASecretRefusesEveryBadTokenAndKeepsTheConnection(t *testing.T) {
	n := startNode(t, Options{AuthSecret: campSecret})
	inAnHour := time.Now().Add(time.Hour).Unix()
	enc := base64.RawURLEncoding.EncodeToString
	for i, tc := range []struct {
		name  string
		token any
		says  string // a part of the sentence
	}{
		{"no token", nil, "needs a token"},
		{"an empty token", "", "needs a token"},
		{"a token that is no string", 42, "must be a string"},
		{"a malformed token", "not-a-jwt", "not a JWT"},
		{"alg none", enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc([]byte(fmt.Sprintf(`{"sub":"J005","exp":%d}`, inAnHour))) + ".", "HS256"},
		{"a wrong signature", signedWith(t, jwt.SigningMethodHS256, []byte("another camp's secret entirely"), jwt.MapClaims{"sub": "J006", "exp": inAnHour}), "this camp's secret"},
		{"HS384 with the right secret", signedWith(t, jwt.SigningMethodHS384, []byte(campSecret), jwt.MapClaims{"sub": "J007", "exp": inAnHour}), "HS256"},
		{"an RS256-style header", enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + strings.SplitN(mintFor(t, "J008"), ".", 2)[1], "HS256"},
		{"an expired token", signedWith(t, jwt.SigningMethodHS256, []byte(campSecret), jwt.MapClaims{"sub": "J009", "exp": time.Now().Add(-time.Hour).Unix()}), "expired"},
		{"a token without exp", signedWith(t, jwt.SigningMethodHS256, []byte(campSecret), jwt.MapClaims{"sub": "J010"}), "no expiry"},
		{"another camper's token", mintFor(t, "J999"), "the token is for J999, not J011"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("J%03d", i+1)
			c := dial(t, n)
			e := c.fails(campbus.CmdCheckin, checkinWithToken{CampID: id, Token: tc.token}, 401, campbus.CodeBadToken)
			assert.Contains(t, e.Message, tc.says)
			if s, ok := tc.token.(string); ok && len(s) > 8 {
				assert.NotContains(t, e.Message, s, "the sentence never repeats the token")
			}
			// The connection stays, not checked in, and takes a good token.
			c.fails(campbus.CmdMission, map[string]int{"day": 4}, 403, campbus.CodeNotCheckedIn)
			var r campbus.CheckinResponse
			c.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: id, Token: mintFor(t, id)}, &r)
			assert.Equal(t, id, r.CampID)
			c.ok(campbus.CmdCheckout, nil, nil)
		})
	}
	assert.Equal(t, uint64(11), n.SessionStats().BadTokens)
}

func TestTheCampIdsErrorsComeBeforeTheTokens(t *testing.T) {
	n := startNode(t, Options{AuthSecret: campSecret})
	c := dial(t, n)
	c.fails(campbus.CmdCheckin, nil, 400, campbus.CodeBadCampID)
	c.fails(campbus.CmdCheckin, `[1]`, 400, campbus.CodeBadRequest)
	c.fails(campbus.CmdCheckin, "{\"campId\":\"J001\",\"token\":\"\xff\"}", 400, campbus.CodeBadRequest)
	c.fails(campbus.CmdCheckin, checkinWithToken{CampID: "nobody"}, 400, campbus.CodeBadCampID)
	c.fails(campbus.CmdCheckin, checkinWithToken{CampID: "J999", Token: "bad"}, 400, campbus.CodeBadCampID)
	c.fails(campbus.CmdCheckin, checkinWithToken{CampID: "J001", Token: "bad"}, 401, campbus.CodeBadToken)
	c.checkin0("J001")
	// Checked in, a second checkin is refused as it always was, token or not.
	c.fails(campbus.CmdCheckin, checkinWithToken{CampID: "J002", Token: "bad"}, 409, campbus.CodeAlreadyCheckedIn)
}

// checkin0 checks in as id with a good token.
func (c *camper) checkin0(id string) {
	c.t.Helper()
	c.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: id, Token: mintFor(c.t, id)}, nil)
	c.id = id
}

func TestTokensGuessedOnOneConnectionAreSlowedDownAndCounted(t *testing.T) {
	n := startNode(t, Options{AuthSecret: campSecret, MonitorAddr: "127.0.0.1:0"})
	c := dial(t, n)
	for range 5 {
		c.fails(campbus.CmdCheckin, checkinWithToken{CampID: "J001", Token: mintFor(t, "J002")}, 401, campbus.CodeBadToken)
	}
	e := c.fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001", Token: mintFor(t, "J001")}, 429, campbus.CodeRateLimited)
	assert.Contains(t, e.Message, "too many refused tokens")
	// Another connection is not held back by this one.
	dial(t, n).checkin0("J001")

	_, body := get(t, "http://"+n.MonitorAddr().String()+"/metrics")
	assert.Contains(t, body, `campbus_drops_total{reason="bad-token"} 5`+"\n")
	assert.Contains(t, body, `campbus_drops_total{reason="token-throttled"} 1`+"\n")
}

func TestWithASecretObserversSeeTheGroupsAloneAndTheOperatorEverything(t *testing.T) {
	n := startNode(t, Options{NATSAddr: "127.0.0.1:0", OperatorPassword: "op-secret", AuthSecret: campSecret})
	violations := make(chan error, 16)
	obs, err := nats.Connect(n.NATSURL(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	require.NoError(t, err)
	defer obs.Close()
	op, err := nats.Connect(n.NATSURL(), nats.UserInfo(bus.OperatorUser, "op-secret"))
	require.NoError(t, err)
	defer op.Close()

	groups, err := obs.SubscribeSync("group.>")
	require.NoError(t, err)
	hidden := map[string]*nats.Subscription{}
	for _, subject := range []string{"camper.>", "req.>", "node.>", "log.>", "$JS.>", "$KV.>", ">"} {
		sub, err := obs.SubscribeSync(subject)
		require.NoError(t, err) // refused asynchronously
		hidden[subject] = sub
	}
	require.NoError(t, obs.Flush())
	refused := map[string]bool{}
	for len(refused) < len(hidden) {
		select {
		case err := <-violations:
			require.ErrorIs(t, err, nats.ErrPermissionViolation)
			for subject := range hidden {
				if strings.Contains(err.Error(), `"`+subject+`"`) {
					refused[subject] = true
				}
			}
		case <-time.After(waitFor):
			t.Fatalf("only these subscriptions were refused: %v", refused)
		}
	}
	opDirects, err := op.SubscribeSync("camper.>")
	require.NoError(t, err)
	opReqs, err := op.SubscribeSync("req.checkin")
	require.NoError(t, err)
	require.NoError(t, op.Flush())

	a, b := dial(t, n), dial(t, n)
	a.checkin0("J001")
	b.checkin0("J002")
	a.expect(campbus.EventJoin)
	a.ok(campbus.CmdDirect, campbus.DirectRequest{CampID: "J002", Text: "psst"}, nil)
	b.expect(campbus.EventDirect)

	m, err := groups.NextMsg(waitFor)
	require.NoError(t, err, "observers see the groups")
	assert.Equal(t, "group.1", m.Subject)
	m, err = opDirects.NextMsg(waitFor)
	require.NoError(t, err, "the operator sees the directs")
	assert.Contains(t, string(m.Data), "psst")
	m, err = opReqs.NextMsg(waitFor)
	require.NoError(t, err, "the operator sees the checkins")
	assert.NotContains(t, strings.ToLower(string(m.Data)), "token", "but never a token")
	assert.Equal(t, "J001", bus.ParseRequest(m).Token.For)
	for subject, sub := range hidden {
		_, err := sub.NextMsg(10 * time.Millisecond)
		assert.Error(t, err, "nothing reached the observer on %s", subject)
	}
}

func TestNeitherTheSecretNorATokenIsLogged(t *testing.T) {
	var log logBuffer
	n := startNode(t, Options{AuthSecret: campSecret, Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	good, other := mintFor(t, "J001"), mintFor(t, "J002")
	c := dial(t, n)
	c.fails(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001", Token: other}, 401, campbus.CodeBadToken)
	c.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001", Token: good}, nil)
	c.ok(campbus.CmdCheckout, nil, nil)
	c.closed()
	require.Contains(t, log.text(), "outcome=bad-token", "the refusal is logged")
	for _, secret := range []string{campSecret, good, other, strings.Split(good, ".")[2]} {
		assert.NotContains(t, log.text(), secret)
	}
}

func TestAShortSecretIsRefusedAtStart(t *testing.T) {
	_, err := Start(t.Context(), Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AuthSecret: "hunter2", Logger: quietLogger()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--auth-secret")
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestABrowserShowsItsTokenInTheCheckinBodyToo(t *testing.T) {
	n := webNode(t, Options{AuthSecret: campSecret})
	b := dialWeb(t, n, nil)
	r := b.do(campbus.CmdCheckin, map[string]string{"campId": "J004"})
	assert.Equal(t, 401, r.Status)
	assert.Contains(t, string(r.Body), campbus.CodeBadToken)
	r = b.do(campbus.CmdCheckin, map[string]string{"campId": "J004", "token": mintFor(t, "J004")})
	assert.Equal(t, 200, r.Status, "%s", r.Body)
}

func TestATokenMintedOnceIsTakenByEveryNodeOfACluster(t *testing.T) {
	ns := startCluster(t, 2, func(o *Options) { o.AuthSecret = campSecret })
	token := mintFor(t, "J001")
	for _, n := range ns {
		c := dial(t, n)
		c.fails(campbus.CmdCheckin, checkinWithToken{CampID: "J001", Token: mintFor(t, "J002")}, 401, campbus.CodeBadToken)
		c.ok(campbus.CmdCheckin, campbus.CheckinRequest{CampID: "J001", Token: token}, nil)
		c.ok(campbus.CmdCheckout, nil, nil)
		c.closed()
	}
}

func TestAPageAsksForTheTokenWhenTheCampNeedsOne(t *testing.T) {
	browser := openBrowser(t)
	n := webNode(t, Options{AuthSecret: campSecret})
	p := newPage(t, browser, n)
	p.run(
		clearField("#camp-id"),
		chromedp.SendKeys(chromedp.ID("camp-id"), "J004"),
		chromedp.Click(chromedp.ID("checkin-button")),
	)
	p.waitText("#checkin-msg", "The token is missing")
	p.waitText("#checkin-msg", "Paste your token under “I was given a token”")
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	ready, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("token-box").open && document.activeElement.id === "token"`))
	require.NoError(t, err)
	assert.True(t, ready, "the token field is open, the cursor in it")

	p.run(
		chromedp.SendKeys(chromedp.ID("token"), mintFor(t, "J004")),
		chromedp.Click(chromedp.ID("checkin-button")),
		chromedp.WaitVisible(chromedp.ID("camp-view")),
	)
	p.waitText("#me-id", "J004")
}
