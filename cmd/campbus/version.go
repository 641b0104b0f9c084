package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// runVersion is `campbus version`: the version of campbus, of the Go that
// built it and of the NATS modules inside it, as recorded in the binary.
func runVersion(stdout io.Writer) error {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	_, err := io.WriteString(stdout, versionText(info))
	return err
}

// versionText formats the build information of a binary; info is nil when
// the binary carries none. The first line is "campbus <version>", where the
// version is the main module's, or "(devel)" followed by the VCS revision
// (and "+dirty" for uncommitted changes) when the binary was built from a
// work tree.
func versionText(info *debug.BuildInfo) string {
	version, goVersion := "(unknown)", runtime.Version()
	var deps []*debug.Module
	if info != nil {
		version = mainVersion(info)
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		deps = info.Deps
	}
	var b strings.Builder
	fmt.Fprintf(&b, "campbus %s\n", version)
	fmt.Fprintf(&b, "  %-12s %s %s/%s\n", "go", goVersion, runtime.GOOS, runtime.GOARCH)
	for _, m := range []struct{ name, path string }{
		{"nats-server", "github.com/nats-io/nats-server/v2"},
		{"nats.go", "github.com/nats-io/nats.go"},
	} {
		fmt.Fprintf(&b, "  %-12s %s\n", m.name, moduleVersion(deps, m.path))
	}
	return b.String()
}

// mainVersion is the main module's version, or "(devel)" with the VCS
// revision when there is no version but a revision.
func mainVersion(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "(devel)"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified == "true" {
		revision += "+dirty"
	}
	return "(devel) " + revision
}

// moduleVersion is the version of the module at path among deps, following a
// replace directive.
func moduleVersion(deps []*debug.Module, path string) string {
	for _, m := range deps {
		if m.Path != path {
			continue
		}
		if r := m.Replace; r != nil {
			if r.Version == "" {
				return fmt.Sprintf("%s (replaced by %s)", m.Version, r.Path)
			}
			return fmt.Sprintf("%s (replaced by %s %s)", m.Version, r.Path, r.Version)
		}
		return m.Version
	}
	return "(not linked)"
}
