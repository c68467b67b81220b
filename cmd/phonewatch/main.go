// Command phonewatch is the operator's command: a check outside Lambda (on sample numbers, or
// a dry run against a real account), the status of the tracked numbers with their deadlines,
// and a test notification that proves every subscriber receives what phonewatch sends.
//
// It follows the conventions of gh and kubectl (both on spf13/cobra, as this is): --version,
// --help on stdout, --flag spelling, shell completion, one-line errors with a hint on stderr.
// Exit status: 0 success (status: no number FAILED); 1 an error of the run; 2 a usage error;
// 3 (status only) at least one number is FAILED.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"
)

// Exit codes, documented in the usage text and the README.
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitFailed = 3
)

// env is where a command writes: results to stdout, errors and notes to stderr.
type env struct {
	stdout, stderr io.Writer
}

// wallClock is the time source of every command; tests freeze it.
var wallClock = time.Now

func main() {
	e := env{stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(run(context.Background(), os.Args[1:], e))
}

// exitCode is what a subcommand returns once it has said what went wrong (or, for status,
// that a number is FAILED): the process exits with it and nothing more is printed. Every
// other error cobra returns is a usage error: a bad flag, a stray argument, an unknown command.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// code turns a subcommand's exit code into what its RunE returns.
func code(c int) error {
	if c == exitOK {
		return nil
	}
	return exitCode(c)
}

// globals are the flags every command takes.
type globals struct {
	region, profile string
	verbose         bool
}

const exitStatusHelp = `Exit status: 0 success (status: no number FAILED), 1 an error of the run (a failed publish
included), 2 a usage error, 3 (status) at least one number is FAILED.`

// newRoot builds the command tree; g receives the global flags.
func newRoot(ctx context.Context, e env, g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "phonewatch",
		Short: "watch Amazon Connect phone numbers whose claim FAILED, and their retry deadlines",
		Long: `phonewatch is the operator's command of the phonewatch Lambda: one check outside Lambda, the
tracked numbers with their deadlines, and a test notification after a deploy. It reads the same
environment variables as the function (README.md, Configuration).`,
		Annotations: map[string]string{"exit": exitStatusHelp},
		Example: `  phonewatch check --numbers testdata/sample-numbers.json   # no AWS account needed
  phonewatch check --dry-run                                # your real Connect: decide and print, write nothing
  phonewatch status                                         # what is tracked, FAILED first, with deadlines
  phonewatch test                                           # one TEST notification to TOPIC_ARN (after a deploy)`,
		Version:           version(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	// Usage by a Go function, never SetUsageTemplate, SetHelpTemplate or SetVersionTemplate:
	// text/template calls reflect's MethodByName, which turns off the linker's dead-code
	// elimination, and with the AWS SDK linked in that took this binary from 13 MB to 34 MB.
	root.SetUsageFunc(usage)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetContext(ctx)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	pf := root.PersistentFlags()
	pf.StringVar(&g.region, "region", "", "the AWS `REGION` (default: AWS_REGION, or the profile's region)")
	pf.StringVar(&g.profile, "profile", "", "the AWS `PROFILE` from ~/.aws/config (default: AWS_PROFILE)")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log progress to stderr: each AWS call with its outcome and duration")
	root.AddCommand(newCheck(e, g), newStatus(e, g), newTest(e, g))
	return root
}

// usage writes a command's usage as gh and kubectl lay it out: the usage line, a real example
// first, then the commands and the flags' reference, and the exit status.
func usage(c *cobra.Command) error {
	var b strings.Builder
	b.WriteString("Usage:")
	if c.Runnable() {
		b.WriteString("\n  " + c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n  " + c.CommandPath() + " <command> [flags]")
	}
	if c.HasExample() {
		b.WriteString("\n\nExamples:\n" + c.Example)
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n\nCommands:")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				fmt.Fprintf(&b, "\n  %-*s %s", sub.NamePadding(), sub.Name(), sub.Short)
			}
		}
	}
	if c.HasAvailableLocalFlags() {
		b.WriteString("\n\nFlags:\n" + strings.TrimRightFunc(c.LocalFlags().FlagUsages(), unicode.IsSpace))
	}
	if c.HasAvailableInheritedFlags() {
		b.WriteString("\n\nGlobal flags:\n" + strings.TrimRightFunc(c.InheritedFlags().FlagUsages(), unicode.IsSpace))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\n\n\"%s <command> --help\" shows a command's flags.", c.CommandPath())
	}
	if exit := c.Annotations["exit"]; exit != "" {
		b.WriteString("\n\n" + exit)
	}
	b.WriteString("\n")
	_, err := io.WriteString(c.OutOrStderr(), b.String())
	return err
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	var g globals
	root := newRoot(ctx, e, &g)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	var c exitCode
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &c):
		return int(c)
	}
	// A usage error: one line, and where to read more (never the whole usage).
	msg, rest, _ := strings.Cut(err.Error(), "\n")
	if _, s, ok := strings.Cut(rest, "Did you mean this?\n\t"); ok {
		s, _, _ = strings.Cut(s, "\n")
		msg += "; did you mean " + s + "?"
	}
	if cmd == nil {
		cmd = root
	}
	_, _ = fmt.Fprintf(e.stderr, "%s: %s (see %s --help)\n", cmd.CommandPath(), msg, cmd.CommandPath())
	return exitUsage
}

// noArgs refuses arguments: every subcommand takes flags only.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return fmt.Errorf("unexpected argument %q: %s takes flags only", args[0], cmd.CommandPath())
}

// version is the module version when built from a tagged module, else the VCS revision
// (with "+dirty" for uncommitted changes), else "(devel)".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "(devel)"
	}
	return "(devel) " + rev + dirty
}
