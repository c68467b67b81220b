package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/phonewatch/phonewatch/internal/app"
	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/trigger"
)

const checkUsage = `Usage: phonewatch check [flags]

Examples:
  phonewatch check --numbers testdata/sample-numbers.json                 # no AWS account needed
  phonewatch check --numbers testdata/sample-numbers.json --at +19h       # as if 19 hours later: reminders
  phonewatch check --dry-run                                              # your real Connect: decide, print, write nothing
  STATE_TABLE=phonewatch-state phonewatch check                           # the deployed state: a dry run unless --publish

Runs phonewatch once outside Lambda and prints each notification as an email reader would see
it. Without --numbers it reads your real Amazon Connect with your AWS credentials. Printing
never marks a notification sent in a shared table: against STATE_TABLE, a run without
--publish is a dry run. Two runs on one state file cannot both run (<file>.lock).

Flags:
`

// checkFlags are check's command line.
type checkFlags struct {
	numbers, cloudtrail, state, at, event string
	asJSON, publish, dryRun, verbose      bool
	timeout                               time.Duration
}

func parseCheck(args []string, stderr io.Writer) (checkFlags, int, bool) {
	var f checkFlags
	fs := newFlags("check", checkUsage, stderr)
	fs.StringVar(&f.numbers, "numbers", "", "read numbers from `FILE` (DescribePhoneNumber outputs: one, or a JSON array) instead of Amazon Connect")
	fs.StringVar(&f.cloudtrail, "cloudtrail", "", "read operations from `FILE` (what aws cloudtrail lookup-events prints) instead of CloudTrail")
	fs.StringVar(&f.state, "state", "", stateHelp)
	fs.StringVar(&f.at, "at", "", atHelp)
	fs.BoolVar(&f.asJSON, "json", false, "print notifications and the summary as machine JSON, one per line")
	fs.StringVar(&f.event, "event", "", "run the Lambda event in `FILE` (default: a scheduled run)")
	fs.BoolVar(&f.publish, "publish", false, "send to the SNS topic TOPIC_ARN (and record it in the state) instead of printing")
	fs.BoolVar(&f.dryRun, "dry-run", false, "read Connect, CloudTrail and the state, decide and print: write nothing, send nothing")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "the run's deadline: checks stop in time to save and publish before it")
	fs.BoolVar(&f.verbose, "v", false, "log progress to stderr")
	if code, ok := parseFlags(fs, args); !ok {
		return f, code, false
	}
	switch {
	case f.publish && f.dryRun:
		_, _ = fmt.Fprintln(stderr, "phonewatch check: --publish and --dry-run exclude each other")
		return f, exitUsage, false
	case f.timeout <= 0 || f.timeout > maxTimeout:
		// A run's claims last its deadline plus a minute; past status.MaxClaim another run
		// takes them for void and may send the same notification.
		_, _ = fmt.Fprintf(stderr, "phonewatch check: --timeout must be positive and at most %s (as a Lambda run), e.g. 2m\n", maxTimeout)
		return f, exitUsage, false
	case f.at != "" && f.publish:
		// Notifications would go out with invented times, and the state would hold checks in
		// the future that every later run refuses to trust.
		_, _ = fmt.Fprintln(stderr, "phonewatch check: --at moves the clock, so it only prints: drop --publish (or --at)")
		return f, exitUsage, false
	}
	return f, exitOK, true
}

// maxTimeout is the longest --timeout: Lambda's own maximum, so that a local run's claims,
// which outlive its deadline by a minute, stay within status.MaxClaim.
const maxTimeout = 14 * time.Minute

// check runs one phonewatch check from the command line and returns the exit code.
func check(ctx context.Context, args []string, e env) int {
	f, code, ok := parseCheck(args, e.stderr)
	if !ok {
		return code
	}
	fail := failer(e.stderr)
	now, err := clockAt(f.at, wallClock)
	if err != nil {
		return fail("--at: %v", err)
	}
	cfg, err := loadConfig(e.stderr)
	if err != nil {
		return fail("%v", err)
	}
	scope, err := readEvent(f.event)
	if err != nil {
		_, _ = fmt.Fprintf(e.stderr, "phonewatch: %v\n", err)
		summarize(e.stdout, f.asJSON, printing, monitor.Summary{Statuses: map[string]int{}, Errors: []monitor.NumberError{}})
		return exitError
	}
	file, table := where(f.state, cfg)
	m := printing
	switch {
	case f.publish:
		m = publishing
	case f.dryRun:
		m = dryRunning
	case table != "":
		m = dryRunning
		_, _ = fmt.Fprintf(e.stderr, "phonewatch: dry run: STATE_TABLE=%s is shared with the deployed function, so without --publish "+
			"nothing is written or sent (use --state FILE for a local state)\n", table)
	}
	mon, release, err := wire(ctx, f, cfg, file, table, m, now, e)
	if err != nil {
		return fail("%v", err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	sum, runErr := mon.Run(ctx, scope)
	summarize(e.stdout, f.asJSON, m, sum)
	if runErr != nil {
		return fail("run failed: %v", runErr)
	}
	return exitOK
}

// wire builds the run's monitor: source, state (read-only in a dry run, locked when a local
// file), publisher and operations. release undoes what it took (the lock).
func wire(ctx context.Context, f checkFlags, cfg config.Config, file, table string, m mode, now func() time.Time, e env) (*monitor.Monitor, func(), error) {
	var awsCfg aws.Config
	if why := awsNeeded(f, cfg, table); why != "" {
		var err error
		if awsCfg, err = loadAWS(ctx, why); err != nil {
			return nil, nil, err
		}
	}
	st, err := openStore(ctx, file, table, awsCfg)
	if err != nil {
		return nil, nil, err
	}
	release := func() {}
	if file != "" && m != dryRunning {
		if release, err = lockState(file); err != nil {
			return nil, nil, err
		}
	}
	if m == dryRunning {
		st = readOnly{st}
	}
	log := logger(e.stderr, f.verbose)
	out := &printer{w: e.stdout, json: f.asJSON, r: app.Renderer(cfg)}
	var pub monitor.Publisher = out
	if m == publishing {
		if cfg.TopicARN == "" {
			release()
			return nil, nil, errors.New("--publish needs TOPIC_ARN, the SNS topic to send to")
		}
		ids := &messageIDs{}
		pub = &sender{sns: app.NewPublisher(cfg, app.NewSNS(awsCfg, ids.option), log), ids: ids, out: out}
	}
	mon := app.NewMonitor(cfg, awsCfg, st, pub, now, log)
	if f.numbers != "" {
		src, err := loadNumbers(f.numbers)
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("--numbers: %w", err)
		}
		mon.Source = src
	}
	ops, err := operations(f, cfg, awsCfg)
	if err != nil {
		release()
		return nil, nil, err
	}
	// The operations come from --cloudtrail FILE, the account's CloudTrail, or nowhere (sample
	// numbers never meet the real account's history). The cursor lives in the store (read-only
	// in a dry run), and only the account's own history may move it: a run on a file must never
	// move a shared table's cursor past events the deployed function has not read.
	mon.Operations = ops
	if f.cloudtrail != "" {
		mon.Cursor = nil
	}
	return mon, release, nil
}

// operations returns where the run reads Connect's phone-number operations: --cloudtrail FILE,
// the account's CloudTrail when reading a real account with CLOUDTRAIL=true, else none.
func operations(f checkFlags, cfg config.Config, awsCfg aws.Config) (monitor.Operations, error) {
	switch {
	case f.cloudtrail != "":
		return fileOperations(f.cloudtrail)
	case f.numbers == "" && cfg.CloudTrail:
		return accountOperations(awsCfg)
	default:
		return nil, nil
	}
}

// awsNeeded says why this run needs AWS ("" when it does not): a run on --numbers with a state
// file that only prints touches no AWS service, and needs neither Region nor credentials.
func awsNeeded(f checkFlags, cfg config.Config, table string) string {
	switch {
	case f.numbers == "":
		return "read Amazon Connect without --numbers"
	case table != "":
		return "read STATE_TABLE=" + table
	case f.publish:
		return "publish to TOPIC_ARN"
	default:
		return ""
	}
}

// readEvent reads and parses --event FILE (a scheduled run without it) into the run's scope.
func readEvent(path string) (monitor.Scope, error) {
	payload := []byte("{}")
	if path != "" {
		var err error
		if payload, err = os.ReadFile(path); err != nil { //nolint:gosec // G304: reading the file the user named is the point
			return monitor.Scope{}, fmt.Errorf("--event: %w", err)
		}
	}
	req, err := trigger.Parse(payload)
	if err != nil {
		return monitor.Scope{}, fmt.Errorf("rejected event %s: %w", orDash(path), err)
	}
	return monitor.Scope{Scheduled: req.Scheduled, PhoneNumberIDs: req.PhoneNumberIDs, TargetARNs: req.TargetARNs}, nil
}

// loadConfig reads the environment's configuration and writes its warnings once.
func loadConfig(stderr io.Writer) (config.Config, error) {
	cfg, err := config.Load(os.LookupEnv, false, app.Checks)
	if err != nil {
		return cfg, err
	}
	for _, w := range cfg.Warnings {
		_, _ = fmt.Fprintf(stderr, "phonewatch: warning: %s\n", w)
	}
	return cfg, nil
}

// failer returns a function that writes one error line to stderr and returns exitError.
func failer(stderr io.Writer) func(format string, a ...any) int {
	return func(format string, a ...any) int {
		_, _ = fmt.Fprintf(stderr, "phonewatch: "+format+"\n", a...)
		return exitError
	}
}

// logger logs warnings to stderr (progress too with -v). Errors are left to the command, which
// prints each once, with the summary: the monitor's own error log would say it a second time.
func logger(stderr io.Writer, verbose bool) *slog.Logger {
	if verbose {
		return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(warnOnly{slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})})
}

// warnOnly passes warnings and drops errors.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l < slog.LevelError && h.Handler.Enabled(ctx, l)
}
func (h warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(as)} }
func (h warnOnly) WithGroup(name string) slog.Handler    { return warnOnly{h.Handler.WithGroup(name)} }
