package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/phonewatch/phonewatch/internal/app"
	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/trigger"
)

// newCheck is `phonewatch check`.
func newCheck(e env, g *globals) *cobra.Command {
	var f checkFlags
	f.timeout = 2 * time.Minute
	cmd := &cobra.Command{
		Use:   "check",
		Short: "one phonewatch run outside Lambda: prints (or with --publish sends) its notifications",
		Long: `Runs phonewatch once outside Lambda and prints each notification as an email reader would see
it. Without --numbers it reads your real Amazon Connect with your AWS credentials. Printing
never marks a notification sent in a shared table: against STATE_TABLE, a run without
--publish is a dry run. Two runs on one state file cannot both run (<file>.lock, removed after
the run).`,
		Annotations: map[string]string{"exit": exitStatusHelp},
		Example: `  phonewatch check --numbers testdata/sample-numbers.json             # no AWS account needed
  phonewatch check --numbers testdata/sample-numbers.json --at +19h   # as if 19 hours later: reminders
  phonewatch check --dry-run                                          # your real Connect: decide, print, write nothing
  STATE_TABLE=phonewatch-state phonewatch check                       # the deployed state: a dry run unless --publish`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.globals = *g
			if err := f.validate(); err != nil {
				return err
			}
			return code(check(cmd.Context(), f, e))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.numbers, "numbers", "", "read numbers from `FILE` (DescribePhoneNumber outputs: one, or a JSON array) instead of Amazon Connect")
	fl.StringVar(&f.cloudtrail, "cloudtrail", "", "read operations from `FILE` (what aws cloudtrail lookup-events prints) instead of CloudTrail")
	fl.StringVar(&f.state, "state", "", stateHelp)
	fl.StringVar(&f.at, "at", "", atHelp)
	fl.BoolVar(&f.asJSON, "json", false, "print notifications and the summary as machine JSON, one per line")
	fl.StringVar(&f.event, "event", "", "run the Lambda event in `FILE` (default: a scheduled run)")
	fl.BoolVar(&f.publish, "publish", false, "send to the SNS topic TOPIC_ARN (and record it in the state) instead of printing")
	fl.BoolVar(&f.dryRun, "dry-run", false, "read Connect, CloudTrail and the state, decide and print: write nothing, send nothing")
	fl.Var((*duration)(&f.timeout), "timeout", "the run's deadline, with a unit (90s, 2m, at most 14m): checks stop in time to save and publish before it")
	for _, name := range []string{"numbers", "cloudtrail", "event"} {
		_ = cmd.MarkFlagFilename(name, "json")
	}
	_ = cmd.MarkFlagFilename("state", "json")
	return cmd
}

// checkFlags are check's command line.
type checkFlags struct {
	globals
	numbers, cloudtrail, state, at, event string
	asJSON, publish, dryRun               bool
	timeout                               time.Duration
}

// validate refuses flag combinations that cannot mean what they say (a usage error).
func (f checkFlags) validate() error {
	switch {
	case f.publish && f.dryRun:
		return errors.New("--publish and --dry-run exclude each other")
	case f.timeout <= 0 || f.timeout > maxTimeout:
		// A run's claims last its deadline plus a minute; past status.MaxClaim another run
		// takes them for void and may send the same notification.
		return fmt.Errorf("--timeout must be positive and at most %s (as a Lambda run), e.g. 2m", maxTimeout)
	case f.at != "" && f.publish:
		// Notifications would go out with invented times, and the state would hold checks in
		// the future that every later run refuses to trust.
		return errors.New("--at moves the clock, so it only prints: drop --publish (or --at)")
	}
	return nil
}

// duration is a flag holding a time.Duration that must carry its unit: "--timeout 5" is
// refused with what to write instead, rather than guessed to be seconds or minutes.
type duration time.Duration

func (d *duration) String() string { return time.Duration(*d).String() }
func (d *duration) Type() string   { return "duration" }
func (d *duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
			return fmt.Errorf("%q has no unit: write %ss or %sm", s, s, s)
		}
		return fmt.Errorf("%q is not a duration such as 90s or 2m", s)
	}
	*d = duration(v)
	return nil
}

// maxTimeout is the longest --timeout: Lambda's own maximum, so that a local run's claims,
// which outlive its deadline by a minute, stay within status.MaxClaim.
const maxTimeout = 14 * time.Minute

// check runs one phonewatch check and returns the exit code.
func check(ctx context.Context, f checkFlags, e env) int {
	fail := failer(e.stderr)
	now, err := clockAt(f.at, wallClock)
	if err != nil {
		return fail("--at: %v", err)
	}
	cfg, err := loadConfig(e.stderr)
	if err != nil {
		return fail("%v", err)
	}
	// A rejected event is an input error: said once, with no summary, since nothing ran.
	scope, err := readEvent(f.event)
	if err != nil {
		return fail("%v", err)
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
	start := time.Now()
	sum, runErr := mon.Run(ctx, scope)
	logger(e.stderr, f.verbose).Info("run finished", "checked", sum.Checked, "notifications", sum.NotificationsSent,
		"errors", len(sum.Errors), "complete", sum.Complete, "took", time.Since(start).Round(time.Millisecond))
	summarize(e.stdout, f.asJSON, m, sum)
	switch {
	case runErr != nil:
		return fail("run failed: %v", runErr)
	case len(sum.Errors) > 0:
		// The Lambda carries on past a number's error (the next run retries); a person or a
		// script running the command must hear of it, a failed publish above all.
		return fail("the run had %s (listed above); the next run retries them", plural(len(sum.Errors), "error"))
	}
	return exitOK
}

// wire builds the run's monitor: source, state (read-only in a dry run, locked when a local
// file), publisher and operations. release undoes what it took (the lock).
func wire(ctx context.Context, f checkFlags, cfg config.Config, file, table string, m mode, now func() time.Time, e env) (*monitor.Monitor, func(), error) {
	log := logger(e.stderr, f.verbose)
	var awsCfg aws.Config
	if why := awsNeeded(f, cfg, table); why != "" {
		var err error
		if awsCfg, err = loadAWS(ctx, f.globals, why, log); err != nil {
			return nil, nil, err
		}
	}
	st, serverTime, err := openStore(ctx, file, table, awsCfg)
	if err != nil {
		return nil, nil, err
	}
	if table != "" && m == publishing {
		// This run writes the table the deployed function shares: its checks and claims are
		// stamped with this host's clock, which must agree with AWS's.
		if err := checkSkew(wallClock(), serverTime, table); err != nil {
			return nil, nil, err
		}
	}
	release := func() {}
	if file != "" && m != dryRunning {
		if release, err = lockState(file); err != nil {
			return nil, nil, err
		}
	}
	log.Info("state", "file", file, "table", table, "mode", m.String())
	log.Info("sources", "numbers", cmp.Or(f.numbers, "Amazon Connect"), "operations", operationsFrom(f, cfg), "at", now().UTC().Format(time.RFC3339))
	if m == dryRunning {
		st = readOnly{st}
	}
	out := &printer{w: e.stdout, json: f.asJSON, r: app.Renderer(cfg)}
	out.r.Printed = m != publishing // its footer says printed, not sent
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

// operationsFrom names where the run reads Connect's operations, for -v.
func operationsFrom(f checkFlags, cfg config.Config) string {
	switch {
	case f.cloudtrail != "":
		return f.cloudtrail
	case f.numbers == "" && cfg.CloudTrail:
		return "CloudTrail"
	default:
		return "none"
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
