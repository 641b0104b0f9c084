package main

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envTestFlags is a flag set like a subcommand's, with a flag of each kind.
type envTestFlags struct {
	fs       *flag.FlagSet
	addr     string
	natsAddr string
	campIDs  string
	size     int
	timeout  time.Duration
	rate     float64
	asJSON   bool
	password string
}

func newEnvTestFlags() *envTestFlags {
	f := &envTestFlags{fs: flag.NewFlagSet("test", flag.ContinueOnError)}
	f.fs.SetOutput(io.Discard)
	f.fs.StringVar(&f.addr, "addr", "0.0.0.0:2022", "")
	f.fs.StringVar(&f.natsAddr, "nats-addr", "127.0.0.1:4222", "")
	f.fs.StringVar(&f.campIDs, "camp-ids", "J001-J384", "")
	f.fs.IntVar(&f.size, "group-size", 4, "")
	f.fs.DurationVar(&f.timeout, "write-timeout", 10*time.Second, "")
	f.fs.Float64Var(&f.rate, "rate", 50, "")
	f.fs.BoolVar(&f.asJSON, "json", false, "")
	f.fs.StringVar(&f.password, "operator-password", "", "")
	return f
}

// unsetEnv removes the variables for the test, whatever the environment of
// the test process holds, and restores them afterwards.
func unsetEnv(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		t.Setenv(name, "") // registers the restore
		require.NoError(t, os.Unsetenv(name))
	}
}

func TestApplyEnv(t *testing.T) {
	allVars := []string{"CAMPBUS_ADDR", "CAMPBUS_NATS_ADDR", "CAMPBUS_CAMP_IDS", "CAMPBUS_GROUP_SIZE",
		"CAMPBUS_WRITE_TIMEOUT", "CAMPBUS_RATE", "CAMPBUS_JSON", "CAMPBUS_OPERATOR_PASSWORD"}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, f *envTestFlags)
		wantErr []string // substrings of the error; none means success
	}{
		{
			name: "without variables every flag keeps its default",
			check: func(t *testing.T, f *envTestFlags) {
				assert.Equal(t, "0.0.0.0:2022", f.addr)
				assert.Equal(t, "127.0.0.1:4222", f.natsAddr)
				assert.Equal(t, 4, f.size)
				assert.False(t, f.asJSON)
			},
		},
		{
			name: "a variable sets the flag named after it, dashes as underscores",
			env: map[string]string{
				"CAMPBUS_NATS_ADDR": "127.0.0.1:5222", "CAMPBUS_CAMP_IDS": "J00001-J20000", "CAMPBUS_GROUP_SIZE": "6",
				"CAMPBUS_WRITE_TIMEOUT": "3s", "CAMPBUS_RATE": "2.5", "CAMPBUS_JSON": "true",
				"CAMPBUS_OPERATOR_PASSWORD": "s3cret",
			},
			check: func(t *testing.T, f *envTestFlags) {
				assert.Equal(t, "127.0.0.1:5222", f.natsAddr)
				assert.Equal(t, "J00001-J20000", f.campIDs)
				assert.Equal(t, 6, f.size)
				assert.Equal(t, 3*time.Second, f.timeout)
				assert.Equal(t, 2.5, f.rate)
				assert.True(t, f.asJSON)
				assert.Equal(t, "s3cret", f.password)
				assert.Equal(t, "0.0.0.0:2022", f.addr, "a flag without variable keeps its default")
			},
		},
		{
			name: "the command line wins over the environment",
			args: []string{"--group-size", "3", "--nats-addr=127.0.0.1:6222"},
			env:  map[string]string{"CAMPBUS_GROUP_SIZE": "6", "CAMPBUS_NATS_ADDR": "127.0.0.1:5222", "CAMPBUS_ADDR": ":2023"},
			check: func(t *testing.T, f *envTestFlags) {
				assert.Equal(t, 3, f.size)
				assert.Equal(t, "127.0.0.1:6222", f.natsAddr)
				assert.Equal(t, ":2023", f.addr)
			},
		},
		{
			name: "a command-line value that equals the default still wins",
			args: []string{"--group-size=4"},
			env:  map[string]string{"CAMPBUS_GROUP_SIZE": "6"},
			check: func(t *testing.T, f *envTestFlags) {
				assert.Equal(t, 4, f.size)
			},
		},
		{
			name: "a variable set to the empty string empties a string flag",
			env:  map[string]string{"CAMPBUS_NATS_ADDR": ""},
			check: func(t *testing.T, f *envTestFlags) {
				assert.Equal(t, "", f.natsAddr)
			},
		},
		{
			name: "variables with another prefix are ignored",
			env:  map[string]string{"NATS_ADDR": "127.0.0.1:5222", "campbus_nats_addr": "127.0.0.1:5222"},
			check: func(t *testing.T, f *envTestFlags) {
				assert.Equal(t, "127.0.0.1:4222", f.natsAddr)
			},
		},
		{
			name:    "a bad number is an error naming the variable and the flag",
			env:     map[string]string{"CAMPBUS_GROUP_SIZE": "four"},
			wantErr: []string{`environment variable CAMPBUS_GROUP_SIZE="four": invalid value for --group-size`},
		},
		{
			name: "every bad value is reported, not only the first",
			env:  map[string]string{"CAMPBUS_WRITE_TIMEOUT": "10", "CAMPBUS_JSON": "maybe", "CAMPBUS_RATE": "fast"},
			wantErr: []string{
				`CAMPBUS_WRITE_TIMEOUT="10": invalid value for --write-timeout`,
				`CAMPBUS_JSON="maybe": invalid value for --json`,
				`CAMPBUS_RATE="fast": invalid value for --rate`,
			},
		},
		{
			name:    "an empty value is an error for a flag that needs one",
			env:     map[string]string{"CAMPBUS_GROUP_SIZE": ""},
			wantErr: []string{`CAMPBUS_GROUP_SIZE="": invalid value for --group-size`},
		},
		{
			name:  "a bad variable is not even read when the command line sets its flag",
			args:  []string{"--group-size", "5"},
			env:   map[string]string{"CAMPBUS_GROUP_SIZE": "four"},
			check: func(t *testing.T, f *envTestFlags) { assert.Equal(t, 5, f.size) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unsetEnv(t, allVars...)
			for name, value := range tc.env {
				t.Setenv(name, value)
			}
			f := newEnvTestFlags()
			require.NoError(t, f.fs.Parse(tc.args))
			err := applyEnv(f.fs, "CAMPBUS_")
			if len(tc.wantErr) > 0 {
				require.Error(t, err)
				for _, want := range tc.wantErr {
					assert.Contains(t, err.Error(), want)
				}
				return
			}
			require.NoError(t, err)
			tc.check(t, f)
		})
	}
}

func TestApplyEnvHidesTheValueOfASecretFlag(t *testing.T) {
	t.Setenv("CAMPBUS_API_TOKEN", "hunter2")
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.Int("api-token", 0, "a numeric secret, so that a bad value fails")
	require.NoError(t, fs.Parse(nil))
	err := applyEnv(fs, "CAMPBUS_")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CAMPBUS_API_TOKEN=(hidden): invalid value for --api-token")
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestEnvName(t *testing.T) {
	for flagName, want := range map[string]string{
		"addr":             "CAMPBUS_ADDR",
		"nats-addr":        "CAMPBUS_NATS_ADDR",
		"camp-ids":         "CAMPBUS_CAMP_IDS",
		"max-header-bytes": "CAMPBUS_MAX_HEADER_BYTES",
		"log.level":        "CAMPBUS_LOG_LEVEL",
	} {
		assert.Equal(t, want, envName("CAMPBUS_", flagName), flagName)
	}
}

func TestEnvHelpListsEveryVariableWithinTheWidth(t *testing.T) {
	f := newEnvTestFlags()
	help := envHelp(f.fs, "CAMPBUS_")
	assert.True(t, strings.HasPrefix(help, "Environment:\n"), help)
	assert.True(t, strings.HasSuffix(help, "\n"), help)
	assert.Contains(t, help, "--camp-ids from CAMPBUS_CAMP_IDS", "the example is the first flag with a dash")
	f.fs.VisitAll(func(fl *flag.Flag) {
		assert.Contains(t, help, envName("CAMPBUS_", fl.Name))
	})
	for _, line := range strings.Split(strings.TrimSuffix(help, "\n"), "\n") {
		assert.LessOrEqual(t, len(line), envHelpWidth, "line %q", line)
	}

	assert.Empty(t, envHelp(flag.NewFlagSet("none", flag.ContinueOnError), "CAMPBUS_"), "no flags, no paragraph")
}
