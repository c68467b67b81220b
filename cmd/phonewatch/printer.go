package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/status"
)

// rule separates notifications in the text output.
var rule = strings.Repeat("─", 72)

// mode is what a check does with its notifications, and so how its output words them.
type mode int

const (
	printing   mode = iota // a local run: printed, and recorded in the local state file
	dryRunning             // a dry run: printed as what would be sent, nothing recorded
	publishing             // --publish: sent to TOPIC_ARN
)

func (m mode) String() string { return [...]string{"print", "dry-run", "publish"}[m] }

// printer is the publisher of a local or dry run: it shows each notification as a reader would
// get it (or as machine JSON) and accepts it.
type printer struct {
	w    io.Writer
	json bool
	// r words the text as the published one is worded: local time beside UTC when
	// DISPLAY_TIMEZONE is set.
	r notify.Renderer
}

var _ monitor.Publisher = (*printer)(nil)

func (p *printer) Publish(_ context.Context, ns []status.Notification) []error {
	errs := make([]error, len(ns))
	for i, n := range ns {
		errs[i] = p.show(n, "")
	}
	return errs
}

// show writes one notification; note, when set, follows the subject (e.g. the SNS message ID).
func (p *printer) show(n status.Notification, note string) error {
	if p.json {
		b, err := notify.Machine(n)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	}
	if note != "" {
		note = "\n" + note
	}
	_, err := fmt.Fprintf(p.w, "%s\nSubject: %s%s\n\n%s\n\n", rule, notify.Subject(n), note, strings.TrimRight(p.r.Text(n), "\n"))
	return err
}

// sender is the publisher of `check --publish`: it sends through SNS and shows each
// notification that the topic accepted, with its notification and SNS message IDs.
type sender struct {
	sns *notify.SNS
	ids *messageIDs
	out *printer
}

func (s *sender) Publish(ctx context.Context, ns []status.Notification) []error {
	errs := s.sns.Publish(ctx, ns)
	for i, n := range ns {
		if errs[i] == nil {
			_ = s.out.show(n, fmt.Sprintf("Sent: notificationId %s, SNS message ID %s", orDash(n.ID), orDash(s.ids.take(n.ID))))
		}
	}
	return errs
}

// summarize writes the end of a check: in JSON the summary alone; in text what happened in a
// sentence or two, the errors one per line, then the summary's JSON.
func summarize(w io.Writer, asJSON bool, m mode, sum monitor.Summary) {
	var b []byte
	if m == publishing {
		b, _ = json.Marshal(sum)
	} else {
		b, _ = json.Marshal(printedSummary{Summary: sum, NotificationsPrinted: sum.NotificationsSent})
	}
	if asJSON {
		_, _ = fmt.Fprintf(w, "%s\n", b)
		return
	}
	_, _ = fmt.Fprintln(w, rule)
	if sum.NotificationsSent == 0 && len(sum.Errors) == 0 && sum.Checked > 0 {
		_, _ = fmt.Fprintln(w, nothingNew[m])
	}
	_, _ = fmt.Fprintf(w, "%s %s; %s.\n", checked(sum), sentences[m](sum.NotificationsSent), plural(len(sum.Errors), "error"))
	if !sum.Complete {
		_, _ = fmt.Fprintln(w, "The run stopped early to keep its deadline (--timeout); the next run goes on where it stopped.")
	}
	for _, e := range sum.Errors {
		who := e.PhoneNumberID
		if who == "" {
			who = "listing the numbers"
		}
		_, _ = fmt.Fprintf(w, "  error, %s: %s\n", who, e.Error)
	}
	_, _ = fmt.Fprintf(w, "Run summary: %s\n", b)
}

// printedSummary is the run summary of a run that printed instead of sending: the count is
// notificationsPrinted, since nothing was sent (the Lambda's summary says notificationsSent).
type printedSummary struct {
	monitor.Summary
	NotificationsSent    *int `json:"notificationsSent,omitempty"` // nil: hides Summary's
	NotificationsPrinted int  `json:"notificationsPrinted"`
}

var nothingNew = map[mode]string{
	printing:   "No new notifications: nothing changed that needs telling since the last run.",
	dryRunning: "Dry run: nothing would be sent now.",
	publishing: "No new notifications: nothing changed that needs telling since the last run.",
}

var sentences = map[mode]func(int) string{
	printing: func(n int) string { return plural(n, "notification") + " printed" },
	dryRunning: func(n int) string {
		return plural(n, "notification") + " would be sent (dry run: nothing written or sent)"
	},
	publishing: func(n int) string { return plural(n, "notification") + " sent" },
}

// checked says how many numbers were checked and with which statuses, as a sentence's start.
func checked(sum monitor.Summary) string {
	if sum.Checked == 0 {
		return "Checked no numbers;"
	}
	keys := make([]string, 0, len(sum.Statuses))
	for k := range sum.Statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, sum.Statuses[k]))
	}
	return fmt.Sprintf("Checked %s (%s);", plural(sum.Checked, "number"), strings.Join(parts, ", "))
}

// plural is "no things", "1 thing" or "n things".
func plural(n int, word string) string {
	switch n {
	case 0:
		return "no " + word + "s"
	case 1:
		return "1 " + word
	default:
		return fmt.Sprintf("%d %ss", n, word)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
