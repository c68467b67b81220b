// Command phonewatch is the operator's command: a check outside Lambda (on sample numbers, or
// a dry run against a real account), the status of the tracked numbers with their deadlines,
// and a test notification that proves every subscriber receives what phonewatch sends.
//
// Exit status: 0 success (status: no number FAILED); 1 an error; 2 a usage error;
// 3 (status only) at least one number is FAILED.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Exit codes, documented in the usage text and the README.
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitFailed = 3
)

const usage = `Usage: phonewatch <command> [flags]

Examples:
  phonewatch check --numbers testdata/sample-numbers.json   # no AWS account needed
  phonewatch check --dry-run                                # your real Connect: decide and print, write nothing
  phonewatch status                                         # what is tracked, FAILED first, with deadlines
  phonewatch test                                           # one TEST notification to TOPIC_ARN (after a deploy)

Commands:
  check    one phonewatch run outside Lambda: prints (or with --publish sends) its notifications
  status   the tracked numbers from the state file or STATE_TABLE, FAILED first by deadline
  test     publish one TEST notification to TOPIC_ARN so every subscriber can be seen to get it

Configuration comes from the same environment variables as in Lambda (README.md).
"phonewatch help <command>" shows a command's flags.

Exit status: 0 success (status: no number FAILED), 1 error, 2 usage error,
3 (status) at least one number is FAILED.
`

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

// commands maps each subcommand to its entry point.
var commands = map[string]func(context.Context, []string, env) int{
	"check":  check,
	"status": statusCmd,
	"test":   testCmd,
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		_, _ = fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			_, _ = fmt.Fprint(e.stdout, usage)
			return exitOK
		}
		if cmd, ok := commands[rest[0]]; ok {
			return cmd(ctx, []string{"-h"}, env{stdout: e.stdout, stderr: e.stdout})
		}
		name = rest[0]
	default:
		if cmd, ok := commands[name]; ok {
			return cmd(ctx, rest, e)
		}
	}
	_, _ = fmt.Fprintf(e.stderr, "phonewatch: unknown command %q: the commands are check, status and test (phonewatch help)\n", name)
	return exitUsage
}

// newFlags is the flag set of one subcommand, printing usage (then the flags) on -h.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("phonewatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	return fs
}

// parseFlags parses a subcommand's flags, which take no arguments: ok is false, with the exit
// code, when the command should stop (help asked for, a bad flag, a stray argument).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		name := strings.TrimPrefix(fs.Name(), "phonewatch ")
		_, _ = fmt.Fprintf(fs.Output(), "phonewatch %s: unexpected argument %q (phonewatch help %s)\n", name, fs.Arg(0), name)
		return exitUsage, false
	}
	return exitOK, true
}
