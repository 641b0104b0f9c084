package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// applyEnv gives every flag of fs that the command line did not set the
// value of its environment variable, if that is set: prefix followed by the
// flag's name in upper case with dashes as underscores (with prefix
// "CAMPBUS_", --nats-addr comes from CAMPBUS_NATS_ADDR). A variable set to
// the empty string counts as set, so CAMPBUS_NATS_ADDR= turns the port off as
// --nats-addr "" does. Call it after fs.Parse. A value the flag refuses is an
// error that names the variable; every such error is reported, not only the
// first.
func applyEnv(fs *flag.FlagSet, prefix string) error {
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if onCommandLine[f.Name] {
			return
		}
		name := envName(prefix, f.Name)
		value, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, value); err != nil {
			shown := fmt.Sprintf("%q", value)
			if looksSecret(f.Name) {
				shown = "(hidden)"
			}
			errs = append(errs, fmt.Errorf("environment variable %s=%s: invalid value for --%s: %w", name, shown, f.Name, err))
		}
	})
	return errors.Join(errs...)
}

// envName is the environment variable of the flag named flagName.
func envName(prefix, flagName string) string {
	return prefix + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

// looksSecret reports whether a flag holds a secret whose value must not be
// echoed in an error message.
func looksSecret(flagName string) bool {
	for _, word := range []string{"password", "secret", "token", "key"} {
		if strings.Contains(flagName, word) {
			return true
		}
	}
	return false
}

// envHelpWidth is the column at which envHelp wraps its list.
const envHelpWidth = 78

// envHelp is the paragraph of a command's --help that tells how applyEnv
// reads flags from the environment, listing the variables of fs. It starts
// with "Environment:" and ends with a newline; it is "" when fs has no flags.
func envHelp(fs *flag.FlagSet, prefix string) string {
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	if len(flags) == 0 {
		return ""
	}
	example := flags[0].Name // one with a dash shows the conversion best
	for _, f := range flags {
		if strings.Contains(f.Name, "-") {
			example = f.Name
			break
		}
	}
	var b strings.Builder
	b.WriteString("Environment:\n")
	b.WriteString("  A flag not given on the command line is taken from the environment\n")
	fmt.Fprintf(&b, "  when set there: --%s from %s, and so on. Variables:\n", example, envName(prefix, example))
	line := " "
	for i, f := range flags {
		word := " " + envName(prefix, f.Name)
		if i < len(flags)-1 {
			word += ","
		}
		if len(line)+len(word) > envHelpWidth {
			b.WriteString(line + "\n")
			line = " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}

// envPrefix starts the environment variable of every flag.
const envPrefix = "CAMPBUS_"

// parseFlags parses args, then fills the flags not given from the
// environment: every subcommand takes its flags the same way.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return applyEnv(fs, envPrefix)
}

// setUsage makes fs print text, its flags and their environment variables.
func setUsage(fs *flag.FlagSet, w io.Writer, text string) {
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(w, text)
		fs.PrintDefaults()
		fmt.Fprint(w, "\n"+envHelp(fs, envPrefix))
	}
}
