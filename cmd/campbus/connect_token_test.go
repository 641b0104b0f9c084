package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/client"
	"github.com/campbus/campbus/node"
)

const campSecret = "the camp's secret, kept by its operator"

// startSecretCamp starts a node that needs tokens.
func startSecretCamp(t *testing.T) *node.Node {
	t.Helper()
	return startE2ENode(t, func(o *node.Options) { o.AuthSecret = campSecret })
}

// mintToken runs `campbus token args...` in-process and returns what it
// printed, without its line end.
func mintToken(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), append([]string{"token"}, args...), strings.NewReader(""), &stdout, &stderr), "stderr: %s", stderr.String())
	assert.Empty(t, stderr.String())
	require.True(t, strings.HasSuffix(stdout.String(), "\n"))
	return strings.TrimSuffix(stdout.String(), "\n")
}

func TestTheTokenCommandMintsATokenTheServerTakes(t *testing.T) {
	n := startSecretCamp(t)
	fromFlag := mintToken(t, "J004", "--ttl", "1h", "--auth-secret", campSecret)
	t.Setenv("CAMPBUS_AUTH_SECRET", campSecret)
	fromEnv := mintToken(t, "J005")

	ctx, cancel := context.WithTimeout(context.Background(), e2eTimeout)
	defer cancel()
	for id, token := range map[string]string{"J004": fromFlag, "J005": fromEnv} {
		c, err := client.Dial(ctx, n.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		resp, err := c.Do(ctx, campbus.CmdCheckin, campbus.CheckinRequest{CampID: id, Token: fromFlag})
		require.NoError(t, err)
		if id == "J004" {
			require.Nil(t, resp.Err)
			continue
		}
		require.NotNil(t, resp.Err, "J004's token does not admit J005")
		assert.Equal(t, campbus.CodeBadToken, resp.Err.Code)
		doOK(t, c, campbus.CmdCheckin, campbus.CheckinRequest{CampID: id, Token: token})
	}
}

func TestTheTokenCommandRefusesWhatWouldNotWork(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"no secret", []string{"J004"}, "no secret"},
		{"a short secret", []string{"J004", "--auth-secret", "hunter2"}, "at least 16"},
		{"no campId", []string{"--auth-secret", campSecret}, "want one campId"},
		{"two campIds", []string{"J004", "J005", "--auth-secret", campSecret}, "want one campId"},
		{"a campId of another form", []string{"nobody", "--auth-secret", campSecret}, "malformed"},
		{"a campId out of the range", []string{"J999", "--auth-secret", campSecret}, "out of range"},
		{"a campId out of a given range", []string{"J004", "--camp-ids", "J100-J199", "--auth-secret", campSecret}, "out of range"},
		{"a lifetime that is over already", []string{"J004", "--ttl", "0s", "--auth-secret", campSecret}, "--ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"token"}, tc.args...), strings.NewReader(""), &stdout, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.says)
			assert.NotContains(t, err.Error()+stderr.String(), "hunter2")
			assert.NotContains(t, err.Error(), campSecret)
			assert.Empty(t, stdout.String(), "no token")
		})
	}
}

func TestConnectShowsItsTokenFromTheFlagOrTheEnvironment(t *testing.T) {
	n := startSecretCamp(t)
	token := mintToken(t, "J004", "--auth-secret", campSecret)
	sc := startConnect(t, "--addr", n.Addr().String(), "--token", token, "J004")
	sc.expect("> checkin J004\n< checkin success to group#1 (members: J004)\n")
	sc.send("checkout")
	sc.expect("< checkout (disconnected)\n")
	require.NoError(t, sc.wait())

	t.Setenv("CAMPBUS_TOKEN", mintToken(t, "J005", "--auth-secret", campSecret))
	sc = startConnect(t, "--addr", n.Addr().String(), "J005")
	sc.expect("< checkin success to group#1 (members: J005)\n")
	assert.NotContains(t, sc.stdout.String()+sc.stderr.String(), token, "the token is never shown")
}

func TestConnectWithoutATokenInAScriptShowsThe401AndEnds(t *testing.T) {
	n := startSecretCamp(t)
	sc := startConnect(t, "--addr", n.Addr().String(), "J004")
	sc.expect("> checkin J004\n< checkin failed: this camp needs a token with each checkin; ask whoever runs it for yours\n" +
		"< hint: give your token with --token or CAMPBUS_TOKEN (whoever runs the camp hands them out)\n")
	var refused *checkinRefused
	require.ErrorAs(t, sc.wait(), &refused, "a script whose checkin is refused ends at once")
	assert.Equal(t, campbus.CodeBadToken, refused.cause.Code)
	assert.NotContains(t, sc.stdout.String(), promptToken, "no prompt for a token in a script")

	var stdout bytes.Buffer
	err := runConnectForTest(t, []string{"--addr", n.Addr().String(), "--json", "--token", "not-a-jwt", "J004"}, strings.NewReader("quit\n"), &stdout)
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, []string{
		`{"kind":"response","command":"checkin","status":401,"body":{"code":"bad-token","error":"the token is not a JWT (three base64url parts joined by dots)"}}`,
		`{"kind":"error","error":"connect: checkin as J004 refused (401 bad-token): the token is not a JWT (three base64url parts joined by dots)","status":401,"code":"bad-token","exit":3}`,
	}, transcriptLines(stdout.String()))
}

func TestConnectInTmuxAsksForATokenAndNeverShowsIt(t *testing.T) {
	n := startSecretCamp(t)
	bin := buildCampbus(t)
	token := mintToken(t, "J004", "--auth-secret", campSecret)
	other := mintToken(t, "J005", "--auth-secret", campSecret)
	scr := startTmux(t, []string{"CAMPBUS_TOKEN="}, bin, "connect", "--addr", n.Addr().String(), "J004")
	scr.waitForLastLine(promptToken, "> checkin J004", "< checkin failed: this camp needs a token with each checkin; ask whoever runs it for yours")

	// Another camper's token: refused, and asked for again.
	scr.typeText(other)
	scr.waitForLastLine(promptToken)
	scr.press("Enter")
	scr.waitForLastLine(promptToken, "< checkin failed: the token is for J005, not J004")

	scr.typeText(token)
	scr.press("Enter")
	lines := scr.waitForLastLine("> ", "< checkin success to group#1 (members: J004)")
	screen := strings.Join(lines, "\n")
	t.Logf("the screen:\n%s", screen)
	for _, secret := range []string{token, other, token[len(token)-12:], other[:12]} {
		assert.NotContains(t, screen, secret, "what is typed at the token prompt is never shown")
	}

	// Up recalls no token.
	scr.press("Up")
	scr.waitForLastLine("> ")
	scr.typeText("checkout")
	scr.press("Enter")
	assert.Equal(t, "0", scr.exitStatus())
}
