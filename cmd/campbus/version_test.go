package main

import (
	"errors"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionText(t *testing.T) {
	natsDeps := []*debug.Module{
		{Path: "github.com/nats-io/nats-server/v2", Version: "v2.15.2"},
		{Path: "github.com/nats-io/nats.go", Version: "v1.55.0"},
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want []string // the lines, in order
	}{
		{
			name: "a release shows the main module's version",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Deps: natsDeps},
			want: []string{
				"campbus v1.2.3",
				"  go           go1.26.8 " + platform,
				"  nats-server  v2.15.2",
				"  nats.go      v1.55.0",
			},
		},
		{
			name: "a build from a work tree shows (devel) and the short revision, +dirty when modified",
			info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Deps: natsDeps,
				Settings: []debug.BuildSetting{
					{Key: "vcs", Value: "git"},
					{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
					{Key: "vcs.modified", Value: "true"},
				}},
			want: []string{"campbus (devel) 0123456789ab+dirty"},
		},
		{
			name: "a clean work tree has no +dirty",
			info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Deps: natsDeps,
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "false"}}},
			want: []string{"campbus (devel) abc123"},
		},
		{
			name: "a build without VCS information is (devel)",
			info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Deps: natsDeps},
			want: []string{"campbus (devel)"},
		},
		{
			name: "a replaced module shows its replacement",
			info: &debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}, Deps: []*debug.Module{
				{Path: "github.com/nats-io/nats-server/v2", Version: "v2.15.2", Replace: &debug.Module{Path: "../nats-server"}},
				{Path: "github.com/nats-io/nats.go", Version: "v1.55.0", Replace: &debug.Module{Path: "example.com/fork/nats.go", Version: "v1.55.1"}},
			}},
			want: []string{
				"campbus v1.0.0",
				"  go           " + runtime.Version() + " " + platform,
				"  nats-server  v2.15.2 (replaced by ../nats-server)",
				"  nats.go      v1.55.0 (replaced by example.com/fork/nats.go v1.55.1)",
			},
		},
		{
			name: "a binary without build information still says what it can",
			info: nil,
			want: []string{
				"campbus (unknown)",
				"  go           " + runtime.Version() + " " + platform,
				"  nats-server  (not linked)",
				"  nats.go      (not linked)",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := strings.Split(versionText(tc.info), "\n")
			require.GreaterOrEqual(t, len(lines), len(tc.want))
			assert.Equal(t, tc.want, lines[:len(tc.want)])
		})
	}
}

func TestRunVersionPrintsThisBinarysVersions(t *testing.T) {
	var out strings.Builder
	require.NoError(t, runVersion(&out))
	text := out.String()
	assert.Regexp(t, regexp.MustCompile(`^campbus \S`), text)
	assert.Contains(t, text, "  go           go1.")
	// The test binary links the same NATS modules as campbus itself.
	assert.Regexp(t, regexp.MustCompile(`(?m)^  nats-server  v2\.\d+\.\d+`), text)
	assert.Regexp(t, regexp.MustCompile(`(?m)^  nats\.go      v1\.\d+\.\d+`), text)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("stdout is closed") }

func TestRunVersionReportsAWriteError(t *testing.T) {
	assert.EqualError(t, runVersion(failingWriter{}), "stdout is closed")
}
