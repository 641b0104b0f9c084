// Package auth mints and checks the tokens campers show at checkin when a
// camp runs with a secret (PROTOCOL.md §9).
//
// A token is a JWT (RFC 7519) signed with HMAC-SHA256 by the camp's secret:
//
//	header  {"alg":"HS256","typ":"JWT"}
//	claims  {"sub":"J004","iat":1767225600,"exp":1767830400}
//
// sub is the campId the token admits, exp when it stops admitting it. Check
// takes HS256 alone: a token that names "none", HS384, RS256 or any other
// algorithm is refused before any key is looked at. It requires exp, and
// allows Leeway of clock skew between the machine that minted the token and
// the server. Any JWT library can mint a token a camp takes; Mint (behind
// `campbus token`) is one.
//
// Neither tokens nor the secret are ever logged or put in an error: the
// errors of this package say what is wrong with a token, never what it is.
package auth

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Limits of tokens and secrets.
const (
	// MinSecretBytes is the shortest secret taken: with a shorter one, the
	// secret could be found by trying candidates against any one token.
	MinSecretBytes = 16
	// Leeway is the clock skew allowed between the minting machine and the
	// server: a token is taken until Leeway after its exp.
	Leeway = 30 * time.Second
	// MaxTokenBytes bounds a token looked at; the tokens Mint makes are
	// about 150 bytes.
	MaxTokenBytes = 1024
)

// The reasons a token is refused. Their sentences are meant for the camper
// and travel in the 401 bad-token response.
var (
	ErrMissing   = errors.New("this camp needs a token with each checkin; ask whoever runs it for yours")
	ErrMalformed = errors.New("the token is not a JWT (three base64url parts joined by dots)")
	ErrAlgorithm = errors.New("the token is not signed with HS256, the one algorithm this camp takes")
	ErrSignature = errors.New("the token was not signed with this camp's secret")
	ErrClaims    = errors.New("the token's claims cannot be read")
	ErrNoExpiry  = errors.New("the token has no expiry (exp); this camp takes only tokens that expire")
	ErrExpired   = errors.New("the token has expired; ask whoever runs the camp for a new one")
	ErrNotYet    = errors.New("the token is not valid yet (nbf)")
	ErrSubject   = errors.New("the token names no campId (sub)")
	// ErrStaffToken refuses a staff member's token at a camper's checkin,
	// ErrNotStaff a camper's at a staff sign-in.
	ErrStaffToken = errors.New("the token is a staff member's; sign in as staff with it (staff {\"token\": ...}) rather than check in")
	ErrNotStaff   = errors.New("the token is not a staff member's (campbus token --staff NAME mints one)")
	ErrStaffName  = errors.New("the token names no staff member (sub)")
)

// RoleStaff is the role claim of a staff member's token.
const RoleStaff = "staff"

// staffNameForm is the form of a staff member's name: letters (any
// script), digits, and inner spaces, dots, dashes and underscores, at most
// 32 runes. It travels in events and log lines, so it is held to it.
var staffNameForm = regexp.MustCompile(`^[\p{L}\p{N}](?:[\p{L}\p{N} ._-]{0,30}[\p{L}\p{N}])?$`)

// ValidStaffName reports whether name may name a staff member.
func ValidStaffName(name string) bool { return staffNameForm.MatchString(name) }

// subjectForm is the form of a campId: letters, then digits (see
// campbus.IDRange). A token's sub travels on the bus in a header, so it is
// held to it.
var subjectForm = regexp.MustCompile(`^[A-Za-z]{1,16}[0-9]{1,9}$`)

// Secret mints and checks a camp's tokens. It is safe for concurrent use.
type Secret struct {
	key []byte
}

// NewSecret returns the camp's secret, refusing one shorter than
// MinSecretBytes. The error does not repeat the secret.
func NewSecret(secret string) (*Secret, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("the auth secret has %d bytes; it needs at least %d (e.g. openssl rand -hex 32)", len(secret), MinSecretBytes)
	}
	return &Secret{key: []byte(secret)}, nil
}

// Mint returns a token that admits campID from now until now+ttl.
func (s *Secret) Mint(campID string, ttl time.Duration, now time.Time) (string, error) {
	if !subjectForm.MatchString(campID) {
		return "", fmt.Errorf("mint a token: %q is not a campId (letters, then digits)", campID)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("mint a token: the lifetime must be positive, not %v", ttl)
	}
	claims := jwt.RegisteredClaims{
		Subject:   campID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
}

// Check returns the campId token admits at time now, or one of the errors
// above saying why it admits nobody.
func (s *Secret) Check(token string, now time.Time) (campID string, err error) {
	campID, _, err = s.CheckIssued(token, now)
	return campID, err
}

// CheckIssued is Check, with when the token was issued (its iat; zero
// when it has none): a camper's tokens issued up to a revocation are
// refused.
func (s *Secret) CheckIssued(token string, now time.Time) (campID string, issued time.Time, err error) {
	c, err := s.parse(token, now)
	if err != nil {
		return "", time.Time{}, err
	}
	if c.Role == RoleStaff {
		return "", time.Time{}, ErrStaffToken
	}
	if !subjectForm.MatchString(c.Subject) {
		return "", time.Time{}, ErrSubject
	}
	if c.IssuedAt != nil {
		issued = c.IssuedAt.Time
	}
	return c.Subject, issued, nil
}

// MintStaff returns a token that signs in the staff member name from now
// until now+ttl: sub is the name, role "staff".
func (s *Secret) MintStaff(name string, ttl time.Duration, now time.Time) (string, error) {
	if !ValidStaffName(name) {
		return "", fmt.Errorf("mint a staff token: %q is not a staff name (letters and digits, with inner spaces, dots, dashes or underscores, at most 32)", name)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("mint a staff token: the lifetime must be positive, not %v", ttl)
	}
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   name,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Role: RoleStaff,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
}

// CheckStaff returns the staff member a token signs in at time now and
// when the token expires, or why it signs in nobody (a camper's token
// among the reasons).
func (s *Secret) CheckStaff(token string, now time.Time) (name string, expires time.Time, err error) {
	c, err := s.parse(token, now)
	if err != nil {
		return "", time.Time{}, err
	}
	if c.Role != RoleStaff {
		return "", time.Time{}, ErrNotStaff
	}
	if !ValidStaffName(c.Subject) {
		return "", time.Time{}, ErrStaffName
	}
	return c.Subject, c.ExpiresAt.Time, nil
}

// claims are the claims of a campbus token: the registered ones, and the
// role of a staff member's.
type claims struct {
	jwt.RegisteredClaims
	Role string `json:"role,omitempty"`
}

// parse checks token's form, algorithm, signature and times at now, and
// returns its claims.
func (s *Secret) parse(token string, now time.Time) (*claims, error) {
	switch {
	case token == "":
		return nil, ErrMissing
	case len(token) > MaxTokenBytes:
		return nil, ErrMalformed
	}
	var c claims
	parsed, err := jwt.ParseWithClaims(token, &c, s.keyFor,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return nil, refusal(parsed, err)
	}
	return &c, nil
}

// keyFor gives the secret for HS256 alone. WithValidMethods refuses every
// other algorithm first; this says so again where the key is handed out.
func (s *Secret) keyFor(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodHS256 {
		return nil, ErrAlgorithm
	}
	return s.key, nil
}

// refusal names why the jwt library refused a token, from the checks it
// made in order: the form, the algorithm, the signature, then the claims.
func refusal(parsed *jwt.Token, err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case parsed == nil || parsed.Method != jwt.SigningMethodHS256:
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ErrNoExpiry
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrNotYet
	}
	return ErrClaims
}
