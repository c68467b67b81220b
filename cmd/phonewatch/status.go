package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/status"
)

// newStatus is `phonewatch status`.
func newStatus(e env, g *globals) *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "the tracked numbers from the state file or STATE_TABLE, FAILED first by deadline",
		Long: `Lists the tracked numbers: FAILED first by deadline, then IN_PROGRESS, then the rest, with the
retry deadline, its basis and the time left, and the last check; below the table, for each
number that is not CLAIMED, its ID, since when, the failing operation and its caller when known,
what was sent when, and why a record cannot be read. Times are UTC, with the local time beside
them when DISPLAY_TIMEZONE is set (--json: UTC only, every field). Reads only.`,
		Annotations: map[string]string{"exit": `Exit status: 0 no number is FAILED; 3 at least one is; 1 an error (a state that does not exist
included), or a record that cannot be read (it may be FAILED); 2 a usage error.`},
		Example: `  phonewatch status                                  # the local state file
  STATE_TABLE=phonewatch-state phonewatch status     # the deployed function's state
  phonewatch status --json | jq '.[] | select(.status == "FAILED")'`,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.globals = *g
			return code(statusCmd(cmd.Context(), f, e))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.state, "state", "", stateHelp)
	fl.BoolVar(&f.asJSON, "json", false, "print a JSON array of the numbers, for scripts")
	fl.StringVar(&f.at, "at", "", atHelp)
	fl.BoolVar(&f.budget, "budget", false, "print only the account's claim/release budget (with --json: one JSON object)")
	_ = cmd.MarkFlagFilename("state", "json")
	return cmd
}

// statusFlags are status's command line.
type statusFlags struct {
	globals
	state, at string
	asJSON    bool
	// budget prints the claim/release budget alone (with --json: its object).
	budget bool
}

// statusCmd prints the tracked numbers and returns exitFailed when any of them is FAILED.
func statusCmd(ctx context.Context, f statusFlags, e env) int {
	fail := failer(e.stderr)
	now, err := clockAt(f.at, wallClock)
	if err != nil {
		return fail("--at: %v", err)
	}
	cfg, err := loadConfig(e.stderr)
	if err != nil {
		return fail("%v", err)
	}
	file, table := where(f.state, cfg)
	var awsCfg aws.Config
	if table != "" {
		if awsCfg, err = loadAWS(ctx, f.globals, "read STATE_TABLE="+table, logger(e.stderr, f.verbose)); err != nil {
			return fail("%v", err)
		}
	} else if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		// Not "nothing tracked": a script would read that as nothing FAILED.
		return fail("no state file %s: phonewatch check creates it; name another with --state, or set STATE_TABLE for the deployed state", file)
	}
	st, _, err := openStore(ctx, file, table, awsCfg)
	if err != nil {
		return fail("%v", err)
	}
	recs, err := st.All(ctx)
	if err != nil {
		return fail("%v", err)
	}
	rows := statusRows(recs, now())
	bv, err := readBudget(ctx, st, cfg.PhoneNumberQuota, now())
	if err != nil {
		_, _ = fmt.Fprintf(e.stderr, "phonewatch: claim/release budget: %v\n", err)
	}
	if f.budget {
		return printBudget(e, bv, f.asJSON, clock{cfg.Location})
	}
	if f.asJSON {
		err = writeJSON(e.stdout, rows)
	} else {
		// Account-level lines (the claim/release budget) come from the same store and are
		// written below the numbers.
		var account []string
		if bv != nil && bv.started {
			account = append(account, wrapLine(bv.line(clock{cfg.Location})))
		}
		err = writeTable(e.stdout, rows, file+table, clock{cfg.Location}, account)
	}
	if err != nil {
		return fail("%v", err)
	}
	code := exitOK
	for _, r := range rows {
		switch {
		case r.Status == string(status.Failed):
			return exitFailed
		case r.Invalid != "":
			code = exitError // a record that cannot be read may be FAILED: not a clean bill
		}
	}
	return code
}

// row is one tracked number as status shows it. The JSON keys phoneNumberId … sent are
// DESIGN.md's contract; the others are additive. Unknown values are null, never left out.
type row struct {
	PhoneNumberID string            `json:"phoneNumberId"`
	PhoneNumber   string            `json:"phoneNumber"`
	Status        string            `json:"status"`
	CheckedAt     *string           `json:"checkedAt"`
	FailedSince   *string           `json:"failedSince"`
	RetryDeadline *string           `json:"retryDeadline"`
	DeadlineBasis *string           `json:"deadlineBasis"`
	Sent          map[string]string `json:"sent"`

	StatusMessage string            `json:"statusMessage,omitempty"`
	Since         *string           `json:"since"`
	SecondsLeft   *int64            `json:"secondsLeft"`
	Operation     *status.Operation `json:"operation,omitempty"`
	Invalid       string            `json:"invalid,omitempty"`

	// For the table and the order: the same facts as times.
	since, deadline, checked time.Time
	left                     time.Duration
	sent                     []sentAt
}

type sentAt struct {
	event string
	at    time.Time
}

// statusRows turns records into rows, in the order people need them.
func statusRows(recs []status.Record, now time.Time) []row {
	rows := make([]row, 0, len(recs))
	for i := range recs {
		rows = append(rows, newRow(&recs[i], now))
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if c := cmp.Compare(rank(a.Status), rank(b.Status)); c != 0 {
			return c
		}
		if c := a.deadline.Compare(b.deadline); c != 0 && a.Status == string(status.Failed) {
			return c
		}
		return cmp.Or(a.since.Compare(b.since), cmp.Compare(a.PhoneNumberID, b.PhoneNumberID))
	})
	return rows
}

// rank orders statuses: FAILED, IN_PROGRESS, then the rest.
func rank(s string) int {
	switch status.Status(s) {
	case status.Failed:
		return 0
	case status.InProgress:
		return 1
	default:
		return 2
	}
}

func newRow(r *status.Record, now time.Time) row {
	w := row{PhoneNumberID: r.ID, PhoneNumber: r.E164, Status: string(r.Status), StatusMessage: r.StatusMessage,
		checked: r.CheckedAt, Operation: r.Operation, Sent: map[string]string{}}
	if r.Invalid != "" {
		w.Status, w.Invalid = "UNREADABLE", r.Invalid
	}
	switch r.Status {
	case status.InProgress:
		w.since = r.InProgressSince
	case status.NotFound:
		w.since = r.NotFoundAt
	}
	if ep := r.Episode; ep.Open() {
		w.since, w.deadline = ep.FailedSince, ep.Deadline
		w.FailedSince, w.RetryDeadline = stamp(ep.FailedSince), stamp(ep.Deadline)
		basis := string(ep.Basis)
		w.DeadlineBasis = &basis
		w.left = ep.Deadline.Sub(now)
		secs := int64(w.left / time.Second)
		w.SecondsLeft = &secs
		if ep.Operation != nil {
			w.Operation = ep.Operation
		}
	}
	if ep := r.Episode; ep != nil {
		w.addSent(status.EventFailed, ep.FailedSentAt)
		w.addSent(status.EventReminder, ep.RemindedAt)
		w.addSent(status.EventExpired, ep.ExpiredSentAt)
	}
	w.addSent(status.EventStuck, r.StuckSentAt)
	w.CheckedAt, w.Since = stamp(r.CheckedAt), stamp(w.since)
	return w
}

func (w *row) addSent(e status.Event, at time.Time) {
	if at.IsZero() {
		return
	}
	w.Sent[string(e)] = at.UTC().Format(time.RFC3339)
	w.sent = append(w.sent, sentAt{string(e), at})
	slices.SortFunc(w.sent, func(a, b sentAt) int { return a.at.Compare(b.at) })
}

// stamp is t in RFC 3339 UTC, nil when zero.
func stamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func writeJSON(w io.Writer, rows []row) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// tableTime is the table's time format; the header says UTC.
const tableTime = "2006-01-02 15:04"

// clock writes the table's times: UTC, and the wall clock of loc (DISPLAY_TIMEZONE) beside it
// when set, with its date only when that differs from UTC's, as notifications do.
type clock struct{ loc *time.Location }

func (c clock) at(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return notify.Renderer{Location: c.loc}.Time(t, tableTime)
}

// writeTable writes the rows for people, within 100 columns: one line per number, then the
// details of each number that needs attention (not CLAIMED), then the account-level lines
// (each at most tableWidth). Every field of a number is in --json.
func writeTable(w io.Writer, rows []row, from string, c clock, account []string) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintf(w, "No numbers tracked in %s yet: phonewatch check adds them.\n", from)
		if err == nil && len(account) > 0 {
			_, err = fmt.Fprintf(w, "\n%s\n", strings.Join(account, "\n"))
		}
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NUMBER\tSTATUS\tRETRY DEADLINE (UTC)\tLEFT\tBASIS\tCHECKED (UTC)")
	for _, r := range rows {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", orDash(notify.FormatNumber(r.PhoneNumber)), r.Status,
			utc(r.deadline), left(r), orDash(deref(r.DeadlineBasis)), utc(r.checked))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if lines := c.details(r); len(lines) > 0 {
			_, _ = fmt.Fprintf(w, "\n%s\n", strings.Join(lines, "\n"))
		}
	}
	if len(account) > 0 {
		_, err := fmt.Fprintf(w, "\n%s\n", strings.Join(account, "\n"))
		return err
	}
	return nil
}

// utc is a table cell's time, UTC only: the local time is in the details.
func utc(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(tableTime)
}

// details are the lines below the table for a number that needs attention: what the table
// has no room for, local time beside UTC, and why an unreadable record cannot be read.
func (c clock) details(r row) []string {
	if r.Status == string(status.Claimed) && len(r.sent) == 0 {
		return nil
	}
	head := orDash(notify.FormatNumber(r.PhoneNumber)) + " " + r.Status
	lines := []string{head + "  (" + r.PhoneNumberID + ")"}
	add := func(label, value string) {
		if value != "" && value != "-" {
			for i, l := range wrap(value, tableWidth-detailIndent) {
				lines = append(lines, fmt.Sprintf("  %-10s %s", cond(i == 0, label+":"), l))
			}
		}
	}
	add("why", r.Invalid)
	add("message", r.StatusMessage)
	if !r.since.IsZero() {
		add("since", c.at(r.since))
	}
	if !r.deadline.IsZero() {
		add("deadline", c.at(r.deadline))
	}
	if op := r.Operation; op != nil {
		add("operation", op.Name+" at "+c.at(op.At))
		add("by", caller(op.By))
	}
	for i, x := range r.sent {
		lines = append(lines, fmt.Sprintf("  %-10s %s %s", cond(i == 0, "sent:"), x.event, c.at(x.at)))
	}
	return lines
}

// left is the time to the deadline, or how long ago it passed.
func left(r row) string {
	switch {
	case r.deadline.IsZero():
		return "-"
	case r.left < 0:
		return "past by " + short(-r.left)
	default:
		return short(r.left)
	}
}

// short is a duration in hours and minutes, rounded down to the minute: 18h59m, 45m.
func short(d time.Duration) string {
	d = d.Truncate(time.Minute)
	if d < time.Hour {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%dh%02dm", d/time.Hour, (d%time.Hour)/time.Minute)
}

// caller shortens a caller ARN to its resource, e.g. assumed-role/Ops/alice.
func caller(arn string) string {
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
		return parts[5]
	}
	return arn
}

// tableWidth is the widest line status writes (the detail values are wrapped to it), and
// detailIndent the column where a detail's value starts.
const (
	tableWidth   = 100
	detailIndent = 13
)

// wrap breaks s at spaces into lines of at most width runes (a longer word stays whole).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}

// cond is s when ok, else "".
func cond(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}
