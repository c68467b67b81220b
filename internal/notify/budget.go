package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/phonewatch/phonewatch/internal/budget"
	"github.com/phonewatch/phonewatch/internal/status"
)

// The BUDGET notification (account level): the account's accepted claims and releases in
// Connect's rolling 180 days reached 75, 90 or 100 % of its limit (2 x the phone-number
// quota). It names no phone number: it is about the account, and what to do is to slow down
// or ask AWS Support for a quota exception before Connect blocks claiming.

const budgetDate = "2006-01-02"

// BudgetMessage is the machine JSON of a BUDGET (schemaVersion "1", like MachineMessage but
// without the phone-number fields).
type BudgetMessage struct {
	SchemaVersion     string          `json:"schemaVersion"`
	Event             string          `json:"event"`
	NotificationID    string          `json:"notificationId,omitempty"`
	Account           string          `json:"account"`
	Region            string          `json:"region"`
	ClaimReleaseUsed  int             `json:"claimReleaseUsed"`
	ClaimReleaseLimit int             `json:"claimReleaseLimit"`
	Threshold         int             `json:"threshold"`
	WindowDays        int             `json:"windowDays"`
	OldestCountedAt   string          `json:"oldestCountedAt,omitempty"`
	NextSlotFreesAt   string          `json:"nextSlotFreesAt,omitempty"`
	LedgerSince       string          `json:"ledgerSince,omitempty"`
	LowerBound        bool            `json:"lowerBound"`
	TopCallers        []budget.Caller `json:"topCallers"`
	PhoneNumberQuota  int             `json:"phoneNumberQuota"`
	QuotaSource       string          `json:"quotaSource,omitempty"`
	ObservedAt        string          `json:"observedAt"`
}

// budgetNotice is n's notice; a BUDGET without one renders as an empty account.
func budgetNotice(n status.Notification) budget.Notice {
	if n.Budget == nil {
		return budget.Notice{}
	}
	return *n.Budget
}

func budgetMachine(n status.Notification) ([]byte, error) {
	b := budgetNotice(n)
	rep := b.Report
	m := BudgetMessage{
		SchemaVersion: SchemaVersion, Event: string(status.EventBudget), NotificationID: n.ID,
		Account: b.Account, Region: b.Region, ClaimReleaseUsed: rep.Used, ClaimReleaseLimit: rep.Limit,
		Threshold: b.Threshold, WindowDays: budget.WindowDays, LowerBound: rep.LowerBound,
		TopCallers: rep.TopCallers, PhoneNumberQuota: rep.Quota, QuotaSource: b.QuotaSource,
		ObservedAt: rfc3339(n.ObservedAt),
	}
	if m.TopCallers == nil {
		m.TopCallers = []budget.Caller{}
	}
	opt := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return rfc3339(t)
	}
	m.OldestCountedAt, m.NextSlotFreesAt, m.LedgerSince = opt(rep.OldestCountedAt), opt(rep.NextSlotFreesAt), opt(rep.LedgerSince)
	out, err := marshal(m)
	if err != nil {
		return nil, fmt.Errorf("render machine JSON for BUDGET %s: %w", b.Account, err)
	}
	return out, nil
}

// budgetSubject: "[BUDGET] 123456789012 us-east-1: 8 of 10 claims+releases in 180 days - 75% reached".
func budgetSubject(n status.Notification) string {
	b := budgetNotice(n)
	least, reached := "", fmt.Sprintf("%d%% reached", b.Threshold)
	if b.Report.LowerBound {
		least = "at least "
	}
	if b.Threshold >= 100 {
		reached = "limit reached"
	}
	s := subjectASCII(fmt.Sprintf("[BUDGET] %s %s: %s%d of %d claims+releases in %d days - %s", orNone(b.Account),
		orNone(b.Region), least, b.Report.Used, b.Report.Limit, budget.WindowDays, reached))
	if len(s) > MaxSubjectLen {
		s = s[:MaxSubjectLen]
	}
	return s
}

// budgetHeadline is the first sentence of the text.
func budgetHeadline(b budget.Notice) string {
	rep := b.Report
	least := ""
	if rep.LowerBound {
		least = "at least "
	}
	if b.Threshold >= 100 {
		return fmt.Sprintf("Account %s (%s) has used %s%d of its %d phone-number claims and releases in the "+
			"rolling %d days: Amazon Connect blocks further claims until operations leave the window, or AWS Support "+
			"grants a quota exception.", visible(b.Account), visible(b.Region), least, rep.Used, rep.Limit, budget.WindowDays)
	}
	return fmt.Sprintf("Account %s (%s) has used %s%d of its %d phone-number claims and releases in the rolling "+
		"%d days (%d%% threshold): %d left before Amazon Connect blocks claiming.",
		visible(b.Account), visible(b.Region), least, rep.Used, rep.Limit, budget.WindowDays, b.Threshold, rep.Left())
}

// budgetSteps are what to do.
func budgetSteps(b budget.Notice) []string {
	steps := []string{
		"Slow down: pause bulk claim and release scripts, and retries of infrastructure code that claims and releases numbers.",
		"If you need to claim and release more, ask AWS Support for a quota exception for claiming and releasing " +
			"phone numbers (Amazon Connect's ClaimPhoneNumber documentation asks this of accounts that claim and release often).",
	}
	if !b.Report.NextSlotFreesAt.IsZero() {
		steps = append(steps, fmt.Sprintf("Otherwise, the oldest counted operation leaves the window on %s: the count "+
			"goes down from then on, one operation at a time.", b.Report.NextSlotFreesAt.UTC().Format(budgetDate)))
	}
	return steps
}

func (r Renderer) budgetText(n status.Notification) string {
	b := budgetNotice(n)
	rep := b.Report
	var s strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&s, format, args...) }
	w("%s\n\n", wrap(budgetHeadline(b), 94))
	w("What to do next:\n")
	for i, step := range budgetSteps(b) {
		w("%s\n", indentStep(i+1, step))
	}
	w("\nDetails:\n")
	w("Used:              %d claims and releases in the last %d days (limit %d = 2 x quota %d)\n", rep.Used,
		budget.WindowDays, rep.Limit, rep.Quota)
	w("Quota from:        %s\n", orNone(visible(b.QuotaSource)))
	if !rep.OldestCountedAt.IsZero() {
		w("Oldest counted:    %s\n", r.atNote(rep.OldestCountedAt, "leaves the window "+r.at(rep.NextSlotFreesAt)))
	}
	if len(rep.TopCallers) > 0 {
		w("Top callers:\n")
		for _, c := range rep.TopCallers {
			w("  %4d  %s\n", c.Count, visible(callerLong(c.By)))
		}
	}
	if rep.LedgerSince.IsZero() {
		w("Ledger:            still being filled from CloudTrail (it keeps 90 days): the count is a lower bound\n")
	} else {
		note := ""
		if rep.LowerBound {
			note = fmt.Sprintf("less than %d days: the count is a lower bound", budget.WindowDays)
		}
		w("Ledger since:      %s\n", r.atNote(rep.LedgerSince, note))
	}
	w("Checked at:        %s\n", r.at(n.ObservedAt))
	w("\nAbout the count:\n%s\n", wrap(fmt.Sprintf("By default Connect lets an account claim and release up to 200%% "+
		"of its phone-number quota in a rolling %d days, claims and releases counted together (with a quota of 99: "+
		"release 99, claim 99, release 99 exceeds it). phonewatch counts every ClaimPhoneNumber and ReleasePhoneNumber "+
		"that Connect accepted, as CloudTrail recorded it; changes made in the Connect admin website are not in "+
		"CloudTrail and not counted.", budget.WindowDays), 94))
	if r.Printed {
		w("\n-- \nPrinted by phonewatch check, a local run: not sent to anyone.\n")
	} else {
		w("\n-- \nSent by phonewatch, which watches Amazon Connect phone numbers.\n")
	}
	if n.ID != "" {
		w("Notification ID: %s (the same on a repeat of this message)\n", visible(n.ID))
	}
	return s.String()
}

func (r Renderer) budgetChatbot(n status.Notification) ([]byte, error) {
	b := budgetNotice(n)
	rep := b.Report
	lines := []string{md(budgetHeadline(b), 1200)}
	lines = append(lines, fmt.Sprintf("*Used:* %d of %d (%.0f%%) *Quota:* %d (%s)", rep.Used, rep.Limit, rep.Percent(),
		rep.Quota, md(b.QuotaSource, 80)))
	if !rep.NextSlotFreesAt.IsZero() {
		lines = append(lines, "*Next slot frees:* "+r.Time(rep.NextSlotFreesAt, subjectTime))
	}
	for _, c := range rep.TopCallers {
		lines = append(lines, fmt.Sprintf("*Caller:* %d by %s", c.Count, code(c.By, 300)))
	}
	if rep.LowerBound {
		lines = append(lines, "_The ledger covers less than 180 days: the count is a lower bound._")
	}
	lines = append(lines, "*Notification ID:* "+code(n.ID, 200))
	var steps []string
	for _, s := range budgetSteps(b) {
		steps = append(steps, md(s, 600))
	}
	msg := chatbotMessage{
		Version: "1.0",
		Source:  "custom",
		Content: chatbotContent{
			TextType:    "client-markdown",
			Title:       ":warning: " + md(budgetSubject(n), maxTitle-100),
			Description: strings.Join(lines, "\n"),
			NextSteps:   steps,
			Keywords:    []string{"phonewatch", string(status.EventBudget)},
		},
		Metadata: chatbotMetadata{
			ThreadID:  "budget-" + b.Account + "-" + b.Region,
			Summary:   budgetSubject(n),
			EventType: string(status.EventBudget),
			AdditionalContext: map[string]string{
				"account": b.Account, "region": b.Region, "notificationId": n.ID,
				"threshold": fmt.Sprint(b.Threshold),
			},
		},
	}
	out, err := marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("render chat notification for BUDGET %s: %w", b.Account, err)
	}
	return out, nil
}
