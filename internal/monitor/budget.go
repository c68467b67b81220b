package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	crbudget "github.com/phonewatch/phonewatch/internal/budget"
	"github.com/phonewatch/phonewatch/internal/status"
)

// The claim/release budget step: a scheduled run keeps a ledger of every ClaimPhoneNumber and
// ReleasePhoneNumber Connect accepted (read from CloudTrail into the state table, back-filled
// on the first run and across runs when CloudTrail has more than one run may read), counts it
// over Connect's rolling 180 days against 2 x the phone-number quota, and announces 75, 90 and
// 100 % once per crossing (a BUDGET notification). It runs beside the checks, after the
// run's own CloudTrail read, and never fails the run. A BUDGET that could not be delivered is a
// summary error, like any notification; a ledger or quota problem is the budget's own (its
// "error" in the summary, and the log), so that it does not count as a number that could not be
// checked (CloudTrail denied would otherwise be reported twice).

// Ledger keeps the budget's ledger and the account-level budget item in the state store.
type Ledger interface {
	// AddLedger stores entries, once each by event ID.
	AddLedger(ctx context.Context, entries []crbudget.Entry) error
	// Ledger returns the entries with an event time after since.
	Ledger(ctx context.Context, since time.Time) ([]crbudget.Entry, error)
	// BudgetAccount returns the account's budget item (Version 0: none stored).
	BudgetAccount(ctx context.Context) (crbudget.Account, error)
	// SaveBudgetAccount writes it where the stored version is still a.Version, storing
	// Version+1; conflict reports another run's write (nothing written).
	SaveBudgetAccount(ctx context.Context, a crbudget.Account) (conflict bool, err error)
}

// LedgerSource reads accepted calls for the ledger from CloudTrail's event history.
type LedgerSource interface {
	// Accepted returns the calls named name that Connect accepted in [from, to], reading
	// newest first at most maxPages pages; when not complete, down is the oldest event time
	// read (to when none), where a later read goes on.
	Accepted(ctx context.Context, name string, from, to time.Time, maxPages int) (entries []crbudget.Entry, complete bool, down time.Time, err error)
}

// Budget configures the claim/release budget step; Monitor.Budget nil leaves it out.
type Budget struct {
	Ledger Ledger
	// Source reads the calls; nil reads them from the Monitor's Operations when it can (the
	// CloudTrail reader and a file both can), and with neither the budget is off.
	Source LedgerSource
	// Quota returns the account's phone-number quota and where it comes from; an error (or
	// 0) says why there is none, and the budget is off.
	Quota func(ctx context.Context) (quota int, source string, err error)
	// Account and Region name the account in the notification.
	Account, Region string
	// PagesPerRead bounds each lookup's pages in one run (0: DefaultLedgerPages).
	PagesPerRead int
}

// DefaultLedgerPages is how many pages (50 events each) one ledger lookup reads in a run: a
// back-fill of a busy account goes on in the next runs.
const DefaultLedgerPages = 5

// BudgetSummary is the budget in the run summary (its "budget" field).
type BudgetSummary struct {
	Used       int     `json:"used"`
	Limit      int     `json:"limit"`
	Percent    float64 `json:"percent"`
	LowerBound bool    `json:"lowerBound"`
	// LedgerSince is where the ledger is complete from ("" while it is back-filled).
	LedgerSince string `json:"ledgerSince,omitempty"`
	// Announced is the highest threshold announced in the current crossing.
	Announced int `json:"announced"`
	// Off says why there is no budget this run (then the other fields are zero).
	Off string `json:"off,omitempty"`
	// Error is what went wrong with the ledger this run (it goes on in the next).
	Error string `json:"error,omitempty"`
}

// MarshalJSON writes an off budget as {"off": why} (and its error), without counts that would
// read as zero claims and releases.
func (b BudgetSummary) MarshalJSON() ([]byte, error) {
	type plain BudgetSummary
	if b.Off != "" {
		return json.Marshal(struct {
			Off   string `json:"off"`
			Error string `json:"error,omitempty"`
		}{b.Off, b.Error})
	}
	return json.Marshal(plain(b))
}

// budgetResult is what the step hands back to the run.
type budgetResult struct {
	summary *BudgetSummary
	// errs are BUDGET notifications not delivered (summary errors); problems are the ledger's
	// and the quota's (the budget's own error).
	errs, problems []error
	sent           int
	unconfirmed    int
	// due is a BUDGET to announce: the run's own goroutine publishes it after the numbers'
	// notifications (a Publisher need not be safe for concurrent use; a printer is not).
	due *announcement
}

// announcement is a BUDGET due, with the account item to save after it.
type announcement struct {
	acct   crbudget.Account
	cov    crbudget.Coverage
	state  crbudget.State
	th     int
	id     string
	rep    crbudget.Report
	source string
}

// startBudget runs the budget step in the background, once `after` is closed (the run's own
// CloudTrail reads ended: they go first on the paced reader), and returns the function that
// waits for it and adds its outcome to the summary. Only a scheduled run has an account to
// watch.
func (r *run) startBudget(ctx context.Context, scheduled bool, after <-chan struct{}) func() {
	if r.Budget == nil || !scheduled {
		return func() {}
	}
	done := make(chan budgetResult, 1)
	go func() {
		<-after
		done <- r.budgetStep(ctx)
	}()
	return func() {
		res := <-done
		if res.due != nil {
			r.announceDue(ctx, &res)
		}
		r.sum.Budget = res.summary
		r.sum.NotificationsSent += res.sent
		r.sum.Unconfirmed += res.unconfirmed
		for _, err := range res.errs {
			r.addError("", err)
		}
		if err := errors.Join(res.problems...); err != nil {
			r.log().WarnContext(ctx, "claim/release budget", "error", err)
			if r.sum.Budget != nil {
				r.sum.Budget.Error = err.Error()
			}
		}
	}
}

// budgetStep syncs the ledger, counts it and announces what is due, within half the time the
// run has left (the checks and the finish keep the rest).
func (r *run) budgetStep(ctx context.Context) budgetResult {
	b := r.Budget
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
		defer cancel()
	}
	var res budgetResult
	src := b.Source
	if src == nil {
		src, _ = r.Operations.(LedgerSource)
	}
	if src == nil {
		res.summary = &BudgetSummary{Off: "no CloudTrail to read claims and releases from (CLOUDTRAIL=false, or a local run without --cloudtrail FILE)"}
		return res
	}
	fail := func(err error) budgetResult {
		res.problems = append(res.problems, err)
		if res.summary == nil {
			res.summary = &BudgetSummary{Off: "the budget could not be counted this run (see its error)"}
		}
		return res
	}
	acct, err := b.Ledger.BudgetAccount(ctx)
	if err != nil {
		return fail(err)
	}
	now := r.now()
	cov, syncErr := r.syncLedger(ctx, src, acct.Coverage, now)
	if syncErr != nil {
		res.problems = append(res.problems, fmt.Errorf("the ledger goes on next run: %w", syncErr))
	}
	quota, source, qerr := b.Quota(ctx)
	state := acct.State
	if qerr == nil && quota > 0 {
		entries, err := b.Ledger.Ledger(ctx, now.Add(-crbudget.Window))
		if err != nil && entries == nil {
			return fail(err)
		} else if err != nil {
			res.problems = append(res.problems, err)
		}
		rep := crbudget.Count(entries, quota, cov.CompleteSince(), now)
		var th int
		var id string
		state, th, id = crbudget.Decide(acct.State, rep, b.Account)
		if th != 0 {
			res.due = &announcement{acct: acct, cov: cov, state: state, th: th, id: id, rep: rep, source: source}
			return res
		}
		res.summary = summarize(rep, state)
	} else {
		why := "no phone-number quota: set PHONE_NUMBER_QUOTA"
		if qerr != nil {
			why = "no phone-number quota: " + qerr.Error()
		}
		res.summary = &BudgetSummary{Off: why}
	}
	acct.Coverage, acct.State = cov, state
	if qerr == nil && quota > 0 {
		acct.Quota, acct.QuotaSource = quota, source
	}
	if _, err := b.Ledger.SaveBudgetAccount(ctx, acct); err != nil {
		// A conflict needs nothing: the other run's coverage and announcements stand, and
		// this run's reads are in the ledger either way.
		return fail(err)
	}
	return res
}

// announceDue announces res.due and saves the account item after it.
func (r *run) announceDue(ctx context.Context, res *budgetResult) {
	d := res.due
	if !r.announce(ctx, &d.acct, d.cov, &d.state, res, d.th, d.id, d.rep, d.source) {
		return
	}
	res.summary = summarize(d.rep, d.state)
	d.acct.Coverage, d.acct.State = d.cov, d.state
	d.acct.Quota, d.acct.QuotaSource = d.rep.Quota, d.source
	if _, err := r.Budget.Ledger.SaveBudgetAccount(ctx, d.acct); err != nil {
		// Announced but not recorded: the next run announces it again, with the same ID.
		res.problems = append(res.problems, err)
	}
}

// announce publishes the BUDGET of threshold th. A new announcement is first saved as owed
// (pending, with its ID), so that a repeat after a lost answer keeps the ID; of two runs that
// race, the one whose save loses leaves it to the other. It reports whether to go on and save.
func (r *run) announce(ctx context.Context, acct *crbudget.Account, cov crbudget.Coverage, state *crbudget.State,
	res *budgetResult, th int, id string, rep crbudget.Report, source string) bool {
	b := r.Budget
	if acct.State.Pending == nil || acct.State.Pending.ID != id {
		owed := *acct
		owed.Coverage, owed.State = cov, *state
		conflict, err := b.Ledger.SaveBudgetAccount(ctx, owed)
		switch {
		case err != nil:
			res.errs = append(res.errs, fmt.Errorf("claim/release budget: BUDGET %d%% not sent (its state could not "+
				"be saved), the next run tries again: %w", th, err))
			res.summary = summarize(rep, acct.State)
			return false
		case conflict:
			res.summary = summarize(rep, acct.State)
			return false // another run got there first and announces it
		}
		acct.Version++
	}
	n := status.Notification{
		Event: status.EventBudget, ID: id, ObservedAt: rep.At,
		Budget: &crbudget.Notice{Account: b.Account, Region: b.Region, Threshold: th, Report: rep, QuotaSource: source},
	}
	errs := r.Publisher.Publish(ctx, []status.Notification{n})
	var err error
	if len(errs) > 0 {
		err = errs[0]
	}
	switch {
	case err == nil:
		state.Sent(th)
		res.sent++
	case errors.Is(err, status.ErrUnconfirmed):
		res.unconfirmed++
		res.errs = append(res.errs, fmt.Errorf("publish BUDGET %d%% unconfirmed: it may have been delivered; "+
			"the next run sends it again with the same notificationId: %w", th, err))
	default:
		res.errs = append(res.errs, fmt.Errorf("publish BUDGET %d%%, the next run retries: %w", th, err))
	}
	return true
}

// syncLedger makes the reads the coverage plans, stores what they find, and returns the
// coverage after them. A read that fails, or whose entries cannot be stored, leaves its range
// for the next run.
func (r *run) syncLedger(ctx context.Context, src LedgerSource, cov crbudget.Coverage, now time.Time) (crbudget.Coverage, error) {
	b := r.Budget
	pages := b.PagesPerRead
	if pages <= 0 {
		pages = DefaultLedgerPages
	}
	cov, reads := cov.Plan(now, orDefault(r.OperationsOverlap, DefaultOperationsOverlap))
	var errs []error
	for _, rd := range reads {
		entries, complete, down, err := src.Accepted(ctx, rd.Name, rd.From, rd.To, pages)
		if err != nil {
			errs = append(errs, err)
		}
		if len(entries) > 0 {
			if err := b.Ledger.AddLedger(ctx, entries); err != nil {
				errs = append(errs, err)
				complete, down = false, rd.To
			}
		}
		cov.Done(rd, complete, down)
	}
	cov.Finish()
	return cov, errors.Join(errs...)
}

func summarize(rep crbudget.Report, s crbudget.State) *BudgetSummary {
	bs := &BudgetSummary{Used: rep.Used, Limit: rep.Limit, Percent: math.Round(rep.Percent()*10) / 10,
		LowerBound: rep.LowerBound, Announced: s.Announced}
	if !rep.LedgerSince.IsZero() {
		bs.LedgerSince = rep.LedgerSince.UTC().Format(time.RFC3339)
	}
	return bs
}

// BudgetPercent is for metrics: the budget's percentage, NaN when there is none.
func (s Summary) BudgetPercent() float64 {
	if s.Budget == nil || s.Budget.Off != "" || s.Budget.Limit == 0 {
		return math.NaN()
	}
	return float64(s.Budget.Used) * 100 / float64(s.Budget.Limit)
}
