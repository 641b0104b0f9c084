package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testSecret = "a camp secret of more than sixteen bytes"

var now = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newTestSecret(t *testing.T) *Secret {
	t.Helper()
	s, err := NewSecret(testSecret)
	require.NoError(t, err)
	return s
}

// signed signs claims with method and key, as another JWT library would.
func signed(t *testing.T, method jwt.SigningMethod, claims jwt.Claims, key any) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return tok
}

func claimsFor(sub string, exp time.Time) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{Subject: sub, IssuedAt: jwt.NewNumericDate(now.Add(-time.Hour)), ExpiresAt: jwt.NewNumericDate(exp)}
}

// unsigned builds header.claims. with no signature, as "alg":"none" tokens are.
func unsigned(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "."
}

func TestAMintedTokenAdmitsItsCampIdUntilItExpires(t *testing.T) {
	s := newTestSecret(t)
	tok, err := s.Mint("J004", 168*time.Hour, now)
	require.NoError(t, err)
	assert.Len(t, strings.Split(tok, "."), 3)
	assert.NotContains(t, tok, testSecret)

	for _, at := range []time.Time{now, now.Add(167 * time.Hour), now.Add(168*time.Hour + Leeway - time.Second)} {
		id, err := s.Check(tok, at)
		require.NoError(t, err, "at %v", at)
		assert.Equal(t, "J004", id)
	}
	_, err = s.Check(tok, now.Add(168*time.Hour+Leeway))
	assert.ErrorIs(t, err, ErrExpired, "past the leeway the token has expired")
}

func TestTokensAreRefusedForEachReason(t *testing.T) {
	s := newTestSecret(t)
	good := claimsFor("J004", now.Add(time.Hour))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	other, err := NewSecret("another camp's secret, also long")
	require.NoError(t, err)
	otherTok, err := other.Mint("J004", time.Hour, now)
	require.NoError(t, err)
	valid, err := s.Mint("J004", time.Hour, now)
	require.NoError(t, err)
	parts := strings.Split(valid, ".")

	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"an empty token is missing", "", ErrMissing},
		{"a word is not a JWT", "letmein", ErrMalformed},
		{"two parts are not a JWT", parts[0] + "." + parts[1], ErrMalformed},
		{"a token over the size limit is not looked at", strings.Repeat("a", MaxTokenBytes+1), ErrMalformed},
		{"a header that is not base64 is malformed", "!!!." + parts[1] + "." + parts[2], ErrMalformed},
		{"alg none is refused", unsigned(`{"alg":"none","typ":"JWT"}`, `{"sub":"J004","exp":9999999999}`), ErrAlgorithm},
		{"alg None with its signature stripped is refused", unsigned(`{"alg":"None"}`, `{"sub":"J004","exp":9999999999}`), ErrAlgorithm},
		{"no alg is refused", unsigned(`{"typ":"JWT"}`, `{"sub":"J004","exp":9999999999}`) + "x", ErrAlgorithm},
		{"HS384 with the right secret is refused", signed(t, jwt.SigningMethodHS384, good, []byte(testSecret)), ErrAlgorithm},
		{"HS512 with the right secret is refused", signed(t, jwt.SigningMethodHS512, good, []byte(testSecret)), ErrAlgorithm},
		{"RS256 is refused", signed(t, jwt.SigningMethodRS256, good, rsaKey), ErrAlgorithm},
		{"RS256 naming the secret as its key is refused", strings.Replace(valid, parts[0], base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)), 1), ErrAlgorithm},
		{"another camp's token is refused", otherTok, ErrSignature},
		{"a changed claim breaks the signature", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"J001","exp":9999999999}`)) + "." + parts[2], ErrSignature},
		{"a token without exp is refused", signed(t, jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "J004"}, []byte(testSecret)), ErrNoExpiry},
		{"an expired token is refused", signed(t, jwt.SigningMethodHS256, claimsFor("J004", now.Add(-time.Minute)), []byte(testSecret)), ErrExpired},
		{"a token not valid yet is refused", signed(t, jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "J004", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), NotBefore: jwt.NewNumericDate(now.Add(time.Minute))}, []byte(testSecret)), ErrNotYet},
		{"exp as a string is malformed", signed(t, jwt.SigningMethodHS256, jwt.MapClaims{"sub": "J004", "exp": "tomorrow"}, []byte(testSecret)), ErrMalformed},
		{"a token without sub is refused", signed(t, jwt.SigningMethodHS256, claimsFor("", now.Add(time.Hour)), []byte(testSecret)), ErrSubject},
		{"a sub that is no campId is refused", signed(t, jwt.SigningMethodHS256, claimsFor("J004\r\nX: y", now.Add(time.Hour)), []byte(testSecret)), ErrSubject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := s.Check(tc.token, now)
			assert.ErrorIs(t, err, tc.want)
			assert.Empty(t, id)
			if tc.token != "" {
				assert.NotContains(t, err.Error(), tc.token, "the sentence never repeats the token")
			}
		})
	}
}

func TestATokenFromAnyHS256LibraryIsTaken(t *testing.T) {
	s := newTestSecret(t)
	tok := signed(t, jwt.SigningMethodHS256, jwt.MapClaims{"sub": "J123", "exp": now.Add(time.Hour).Unix()}, []byte(testSecret))
	id, err := s.Check(tok, now)
	require.NoError(t, err)
	assert.Equal(t, "J123", id)

	// A little skew: a token minted by a machine whose clock is ahead.
	ahead := signed(t, jwt.SigningMethodHS256, jwt.MapClaims{"sub": "J123", "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(10 * time.Second).Unix()}, []byte(testSecret))
	_, err = s.Check(ahead, now)
	assert.NoError(t, err, "nbf within the leeway")
}

func TestSecretsAndMintRefuseWhatCannotWork(t *testing.T) {
	_, err := NewSecret("short")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "short", "the error does not repeat the secret")
	s := newTestSecret(t)
	_, err = s.Mint("J 004", time.Hour, now)
	assert.Error(t, err)
	_, err = s.Mint("J004", 0, now)
	assert.Error(t, err)
}

func TestAStaffTokenSignsInItsMemberAndNeverChecksInACamper(t *testing.T) {
	s := newTestSecret(t)
	for _, name := range []string{"Mina", "김코치", "coach-2", "Ji Woo"} {
		tok, err := s.MintStaff(name, time.Hour, now)
		require.NoError(t, err, name)
		got, expires, err := s.CheckStaff(tok, now.Add(time.Minute))
		require.NoError(t, err, name)
		assert.Equal(t, name, got)
		assert.True(t, expires.Equal(now.Add(time.Hour)), "%v", expires)
		_, err = s.Check(tok, now)
		assert.ErrorIs(t, err, ErrStaffToken, "%s's token checks in no camper", name)
		_, _, err = s.CheckStaff(tok, now.Add(time.Hour+Leeway))
		assert.ErrorIs(t, err, ErrExpired)
	}
	camper, err := s.Mint("J004", time.Hour, now)
	require.NoError(t, err)
	_, _, err = s.CheckStaff(camper, now)
	assert.ErrorIs(t, err, ErrNotStaff, "a camper's token signs in no staff member")

	other, err := NewSecret("another camp's secret, long enough")
	require.NoError(t, err)
	foreign, err := other.MintStaff("Mina", time.Hour, now)
	require.NoError(t, err)
	_, _, err = s.CheckStaff(foreign, now)
	assert.ErrorIs(t, err, ErrSignature)
	// A staff role minted by another library with a name out of form.
	bad := signed(t, jwt.SigningMethodHS256, jwt.MapClaims{"sub": " Mina", "role": RoleStaff, "exp": now.Add(time.Hour).Unix()}, []byte(testSecret))
	_, _, err = s.CheckStaff(bad, now)
	assert.ErrorIs(t, err, ErrStaffName)

	for _, name := range []string{"", " Mina", "Mina ", "a/b", strings.Repeat("x", 33), "J004\n"} {
		_, err := s.MintStaff(name, time.Hour, now)
		assert.Error(t, err, "%q", name)
	}
	_, err = s.MintStaff("Mina", 0, now)
	assert.Error(t, err)
}
