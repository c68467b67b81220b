package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/store"
)

const localUsage = `Usage: handler [flags]

Outside Lambda, runs one phonewatch check and prints each notification as an email reader
would see it. Configuration comes from the same environment variables as in Lambda
(see README.md); TOPIC_ARN and STATE_TABLE are optional here.

Examples:
  handler --numbers testdata/sample-numbers.json            # no AWS account needed
  handler --numbers testdata/sample-numbers.json --at +19h  # as if 19 hours later: reminders
  handler --event events/check-request.json                 # real Connect, state in a file

Flags:
`

// localMain runs one check from the command line and returns the exit code.
func localMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("handler", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = fmt.Fprint(stderr, localUsage); fs.PrintDefaults() }
	numbers := fs.String("numbers", "", "read numbers from `FILE`, a JSON array of DescribePhoneNumber outputs, instead of Amazon Connect")
	statePath := fs.String("state", "", "keep state in `FILE` (default .phonewatch-state.json, or DynamoDB STATE_TABLE when set)")
	at := fs.String("at", "", "run as if at `TIME`: RFC 3339 (2026-11-27T05:00:00Z) or an offset from now (+20h, +90m)")
	asJSON := fs.Bool("json", false, "print notifications and the summary as machine JSON, one per line")
	eventPath := fs.String("event", "", "invoke with the Lambda event in `FILE` (default: a scheduled run)")
	publish := fs.Bool("publish", false, "publish to the SNS topic TOPIC_ARN instead of printing")
	verbose := fs.Bool("v", false, "log progress to stderr")
	_ = fs.Bool("local", true, "run locally (the default outside Lambda; accepted for clarity)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "unexpected argument %q (see --help)\n", fs.Arg(0))
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	fail := func(format string, a ...any) int {
		_, _ = fmt.Fprintf(stderr, "phonewatch: "+format+"\n", a...)
		return 1
	}

	now, err := clockAt(*at, time.Now)
	if err != nil {
		return fail("--at: %v", err)
	}
	cfg, err := config.Load(os.LookupEnv, false, checks)
	if err != nil {
		return fail("%v", err)
	}
	payload := []byte("{}")
	if *eventPath != "" {
		if payload, err = os.ReadFile(*eventPath); err != nil {
			return fail("--event: %v", err)
		}
	}

	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fail("AWS configuration: %v", err)
	}
	var st monitor.Store
	switch {
	case *statePath == "" && cfg.StateTable != "":
		st = store.NewDynamo(newDynamo(awsCfg), cfg.StateTable)
	case *statePath == "":
		st = store.NewFile(".phonewatch-state.json")
	default:
		st = store.NewFile(*statePath)
	}
	out := &printer{w: stdout, json: *asJSON}
	var pub monitor.Publisher = out
	if *publish {
		if cfg.TopicARN == "" {
			return fail("--publish needs TOPIC_ARN")
		}
		pub = notify.NewSNS(newSNS(awsCfg), cfg.TopicARN)
	}
	mon := newMonitor(cfg, awsCfg, st, pub, now, log)
	if *numbers != "" {
		src, err := loadNumbers(*numbers)
		if err != nil {
			return fail("--numbers: %v", err)
		}
		mon.Source = src
	}
	h := &Handler{Monitor: mon, Log: log, Now: now}
	if *verbose {
		h.Metrics = stderr
	}
	sum, runErr := h.Run(ctx, payload)
	out.summary(sum, runErr)
	if runErr != nil {
		return 1
	}
	return 0
}

// clockAt returns a clock that starts at `at` (RFC 3339, or +duration from now) and runs on.
func clockAt(at string, now func() time.Time) (func() time.Time, error) {
	if at == "" {
		return now, nil
	}
	start := now()
	var base time.Time
	if strings.HasPrefix(at, "+") {
		d, err := time.ParseDuration(at[1:])
		if err != nil {
			return nil, fmt.Errorf("%q is not +<Go duration> such as +20h: %w", at, err)
		}
		base = start.Add(d)
	} else {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return nil, fmt.Errorf("%q is neither RFC 3339 nor +<duration>", at)
		}
		base = t
	}
	return func() time.Time { return base.Add(now().Sub(start)) }, nil
}

// printer is the local publisher: it shows each notification as a reader would get it.
type printer struct {
	w    io.Writer
	json bool
	sent int
}

func (p *printer) Publish(_ context.Context, ns []status.Notification) []error {
	errs := make([]error, len(ns))
	for i, n := range ns {
		if p.json {
			b, err := notify.Machine(n)
			if err != nil {
				errs[i] = err
				continue
			}
			_, errs[i] = fmt.Fprintf(p.w, "%s\n", b)
		} else {
			_, errs[i] = fmt.Fprintf(p.w, "%s\nSubject: %s\n\n%s\n\n", strings.Repeat("─", 72), notify.Subject(n), strings.TrimRight(notify.Text(n), "\n"))
		}
		if errs[i] == nil {
			p.sent++
		}
	}
	return errs
}

func (p *printer) summary(sum monitor.Summary, runErr error) {
	b, _ := json.Marshal(sum)
	if p.json {
		_, _ = fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	if p.sent == 0 && runErr == nil {
		_, _ = fmt.Fprintln(p.w, "No new notifications: nothing changed that needs telling since the last run.")
	}
	keys := make([]string, 0, len(sum.Statuses))
	for k := range sum.Statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, sum.Statuses[k]))
	}
	_, _ = fmt.Fprintf(p.w, "%s\nChecked %d number(s) (%s); %d notification(s) sent; %d error(s); complete: %v.\n",
		strings.Repeat("─", 72), sum.Checked, strings.Join(parts, ", "), sum.NotificationsSent, len(sum.Errors), sum.Complete)
	for _, e := range sum.Errors {
		_, _ = fmt.Fprintf(p.w, "  error: %s: %s\n", e.PhoneNumberID, e.Error)
	}
	if runErr != nil {
		_, _ = fmt.Fprintf(p.w, "run failed: %v\n", runErr)
	}
	_, _ = fmt.Fprintf(p.w, "Run summary: %s\n", b)
}

// fileSource is a Connect stand-in for local runs: DescribePhoneNumber outputs from a file.
type fileSource struct {
	byID  map[string]*status.Summary
	order []string
}

func loadNumbers(path string) (*fileSource, error) {
	b, err := os.ReadFile(path) //nolint:gosec // G304: reading the file the user named is the point
	if err != nil {
		return nil, err
	}
	var outs []status.DescribeOutput
	if err := json.Unmarshal(b, &outs); err != nil {
		return nil, fmt.Errorf("%s: want a JSON array of DescribePhoneNumber outputs: %w", path, err)
	}
	src := &fileSource{byID: map[string]*status.Summary{}}
	for i, o := range outs {
		s := o.ClaimedPhoneNumberSummary
		if s == nil || s.PhoneNumberID == nil || *s.PhoneNumberID == "" {
			return nil, fmt.Errorf("%s: entry %d has no ClaimedPhoneNumberSummary.PhoneNumberId", path, i)
		}
		if _, dup := src.byID[*s.PhoneNumberID]; dup {
			return nil, fmt.Errorf("%s: entry %d repeats PhoneNumberId %s", path, i, *s.PhoneNumberID)
		}
		src.byID[*s.PhoneNumberID] = s
		src.order = append(src.order, *s.PhoneNumberID)
	}
	return src, nil
}

func (f *fileSource) List(_ context.Context, targets []string) ([]status.Number, error) {
	var out []status.Number
	for _, id := range f.order {
		s := f.byID[id]
		target := deref(s.TargetArn)
		if len(targets) > 0 && !slices.Contains(targets, target) {
			continue
		}
		out = append(out, status.Number{ID: id, ARN: deref(s.PhoneNumberArn), E164: deref(s.PhoneNumber),
			TargetARN: target, InstanceID: deref(s.InstanceID)})
	}
	return out, nil
}

func (f *fileSource) Describe(_ context.Context, ref string) (*status.Summary, error) {
	if s, ok := f.byID[monitor.IDOf(ref)]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("describe %s: %w", ref, status.ErrNotFound)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
