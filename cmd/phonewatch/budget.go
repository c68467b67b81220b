package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/phonewatch/phonewatch/internal/budget"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/notify"
)

// budgetView is the claim/release budget as `phonewatch status` shows it: counted now from the
// ledger in the state, against the quota the last scheduled run used (PHONE_NUMBER_QUOTA when
// set), so that status reads only the state.
type budgetView struct {
	Used            int             `json:"used"`
	Limit           int             `json:"limit"`
	Percent         float64         `json:"percent"`
	Threshold       int             `json:"threshold"`
	Announced       int             `json:"announced"`
	WindowDays      int             `json:"windowDays"`
	OldestCountedAt *string         `json:"oldestCountedAt"`
	NextSlotFreesAt *string         `json:"nextSlotFreesAt"`
	LedgerSince     *string         `json:"ledgerSince"`
	LowerBound      bool            `json:"lowerBound"`
	TopCallers      []budget.Caller `json:"topCallers"`
	Quota           int             `json:"phoneNumberQuota"`
	QuotaSource     string          `json:"quotaSource"`
	// Off says why there is no count (no ledger yet, no quota known).
	Off string `json:"off,omitempty"`
	// started: a run has kept the ledger in this state (else the table leaves the line out).
	started bool
}

// readBudget counts the budget at now from st, when st keeps a ledger; quota overrides the
// stored one (PHONE_NUMBER_QUOTA).
func readBudget(ctx context.Context, st monitor.Store, quota int, now time.Time) (*budgetView, error) {
	l, ok := st.(monitor.Ledger)
	if !ok {
		return nil, nil
	}
	acct, err := l.BudgetAccount(ctx)
	if err != nil {
		return nil, err
	}
	v := &budgetView{WindowDays: budget.WindowDays, TopCallers: []budget.Caller{}, Quota: acct.Quota,
		QuotaSource: acct.QuotaSource, Announced: acct.State.Announced}
	if quota > 0 {
		v.Quota, v.QuotaSource = quota, "PHONE_NUMBER_QUOTA"
	}
	if acct.Version == 0 {
		v.Off = "no ledger yet: a scheduled run (or phonewatch check) starts it from CloudTrail"
		return v, nil
	}
	v.started = true
	entries, err := l.Ledger(ctx, now.Add(-budget.Window))
	if err != nil && entries == nil {
		return nil, err
	}
	rep := budget.Count(entries, v.Quota, acct.Coverage.CompleteSince(), now)
	v.Used, v.Limit, v.Threshold, v.LowerBound = rep.Used, rep.Limit, rep.Level, rep.LowerBound
	v.Percent = float64(int(rep.Percent()*10+0.5)) / 10
	v.OldestCountedAt, v.NextSlotFreesAt, v.LedgerSince = stamp(rep.OldestCountedAt), stamp(rep.NextSlotFreesAt), stamp(rep.LedgerSince)
	if rep.TopCallers != nil {
		v.TopCallers = rep.TopCallers
	}
	if v.Quota == 0 {
		v.Off = "no phone-number quota known: set PHONE_NUMBER_QUOTA, or let a scheduled run read it from Service Quotas"
	}
	return v, nil
}

// line is the budget in one line for the table's notes.
func (v *budgetView) line(c clock) string {
	const head = "Claim/release budget: "
	switch {
	case v.Off != "" && v.Used == 0:
		return head + v.Off + "."
	case v.Off != "":
		return fmt.Sprintf("%s%d claims and releases in the last %d days; %s.", head, v.Used, v.WindowDays, v.Off)
	}
	s := fmt.Sprintf("%s%s%d of %d in the last %d days (%.0f%%; limit 2 x quota %d from %s)", head,
		cond(v.LowerBound, "at least "), v.Used, v.Limit, v.WindowDays, v.Percent, v.Quota, v.QuotaSource)
	if v.NextSlotFreesAt != nil {
		t, _ := time.Parse(time.RFC3339, *v.NextSlotFreesAt)
		s += "; the oldest leaves the window " + utc(t) + " UTC"
	}
	if v.LedgerSince == nil {
		s += "; the ledger is still being back-filled from CloudTrail"
	} else if v.LowerBound {
		t, _ := time.Parse(time.RFC3339, *v.LedgerSince)
		s += "; ledger since " + notify.Renderer{}.Time(t, "2006-01-02")
	}
	if v.Announced > 0 {
		s += fmt.Sprintf("; BUDGET %d%% sent", v.Announced)
	}
	return s + "."
}

// printBudget is `status --budget`: the line, or the object with --json.
func printBudget(e env, v *budgetView, asJSON bool, c clock) int {
	if v == nil {
		return failer(e.stderr)("this state keeps no claim/release ledger")
	}
	var err error
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(v)
	} else {
		_, err = fmt.Fprintln(e.stdout, wrapLine(v.line(c)))
	}
	if err != nil {
		return failer(e.stderr)("%v", err)
	}
	return exitOK
}

// wrapLine wraps a note to the table's 100 columns.
func wrapLine(s string) string { return strings.Join(wrap(s, 100), "\n") }
