package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/campbus/campbus"
	"github.com/campbus/campbus/auth"
)

const tokenUsage = `Usage: campbus token campId [--ttl 168h] [--camp-ids J001-J384]
       campbus token --staff NAME [--ttl 168h]

Prints a token for campId, signed with the secret the server runs with
(--auth-secret, best given as CAMPBUS_AUTH_SECRET): a camp started with a
secret checks in only campers who show their own token (PROTOCOL.md §9). The
token is a JWT (HS256) whose sub is the campId and whose exp is --ttl from now.

Hand each camper its token; they connect with
  campbus connect --token TOKEN J004      (or CAMPBUS_TOKEN=TOKEN)
or paste it in the browser's "I was given a token" field.

Examples:
  export CAMPBUS_AUTH_SECRET="$(cat camp.secret)"
  campbus token J004
  campbus token J004 --ttl 72h
  # every camper of the camp, one "campId,token" line each, for a spreadsheet:
  for id in $(seq -f 'J%03g' 1 384); do
    printf '%s,%s\n' "$id" "$(campbus token "$id")"
  done > tokens.csv

With --staff, the token signs in the staff member NAME (letters, digits,
inner spaces, dots, dashes or underscores; Hangul too) rather than checking
in a camper: a staff connection sends staff {"token": ...} and may then run
the staff commands (board, announce, mute, kick, redact, revoke;
PROTOCOL.md §12).
  campbus token --staff 김코치 --ttl 72h

Anyone holding the secret can mint tokens: keep it with the servers, and
start over with a new secret (and new tokens) if it leaks.

Flags:
`

// defaultTokenTTL is how long a token admits its camper unless told.
const defaultTokenTTL = 7 * 24 * time.Hour

// runToken is `campbus token`: it prints one camper's token.
func runToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	setUsage(fs, stderr, tokenUsage)
	var secret, campIDs, staff string
	var ttl time.Duration
	fs.StringVar(&staff, "staff", "", "mint a staff member's token for this name instead of a camper's")
	fs.StringVar(&secret, "auth-secret", "", "the server's secret; best given as CAMPBUS_AUTH_SECRET")
	fs.DurationVar(&ttl, "ttl", defaultTokenTTL, "how long the token admits its camper")
	fs.StringVar(&campIDs, "camp-ids", campbus.DefaultCampIDs, "the server's range of camp ids; campId must lie in it")
	ids, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if staff != "" {
		return mintStaff(staff, ids, secret, ttl, stdout)
	}
	if len(ids) != 1 {
		fs.Usage()
		return fmt.Errorf("token: want one campId, got %d", len(ids))
	}
	idRange, err := campbus.ParseIDRange(campIDs)
	if err != nil {
		return err
	}
	if perr := idRange.Check(ids[0]); perr != nil {
		return fmt.Errorf("token: %s", perr.Message)
	}
	key, err := mintingKey(secret, ttl)
	if err != nil {
		return err
	}
	token, err := key.Mint(ids[0], ttl, time.Now())
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}

// mintingKey checks the lifetime asked for and returns the secret to sign
// with.
func mintingKey(secret string, ttl time.Duration) (*auth.Secret, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("token: --ttl must be positive, not %v", ttl)
	}
	if secret == "" {
		return nil, errors.New("token: no secret: give the server's as --auth-secret or CAMPBUS_AUTH_SECRET")
	}
	key, err := auth.NewSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("token: --auth-secret: %w", err)
	}
	return key, nil
}

// mintStaff prints a staff member's token (campbus token --staff NAME).
func mintStaff(name string, rest []string, secret string, ttl time.Duration, stdout io.Writer) error {
	if len(rest) != 0 {
		return fmt.Errorf("token: --staff takes a name and no campId, got %q", rest)
	}
	key, err := mintingKey(secret, ttl)
	if err != nil {
		return err
	}
	token, err := key.MintStaff(name, ttl, time.Now())
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}

// parseInterspersed parses flags before and after the arguments
// ("campbus token J004 --ttl 1h"), then fills the flags not given from the
// environment, and returns the arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return rest, applyEnv(fs, envPrefix)
}
