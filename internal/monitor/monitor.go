// Package monitor runs one check of the watched numbers: choose them, describe each at the
// Connect rate inside the invocation's time budget, decide with the domain, claim, publish,
// mark and persist, and sum it up.
//
// Overlapping runs (a slow run and the next scheduled one, Lambda's retries of a failed
// invocation) share one state table. A run that has notifications to send first claims the
// record with a conditional write; of two runs only the one whose write wins publishes, and
// a record claimed by another live run is left alone. The claim is released by the write
// that marks the notifications sent. A notification is marked sent only when SNS confirms it;
// anything else (SNS's error answer, no answer, the run dying before its mark write) leaves it
// owed, and the next run that may publish sends it again with the same notificationId, until
// it is confirmed or no longer applies. Nothing is lost; a copy needs an attempt whose answer
// never came, and a run makes at most one attempt per notification.
//
// A scheduled run describes only what can have changed: FAILED or IN_PROGRESS numbers and
// records that owe something, then new numbers, then, oldest first, those not checked for
// SweepEvery (the safety net for changes CloudTrail does not show), while CloudTrail is read;
// numbers with a Claim/Update read from CloudTrail since their last check go ahead of what is
// left once the read returns, and every number is decided with the operations read.
package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// Defaults for the Monitor fields left zero.
const (
	// DefaultReservePerRecord is the finishing time kept per record to save: a
	// TransactWriteItems of 100 records takes tens of milliseconds, retries included.
	DefaultReservePerRecord = 5 * time.Millisecond
	// DefaultReservePerNotification is the finishing time kept per notification: its share of
	// a PublishBatch call of 10 and the second write of its record that marks it sent.
	DefaultReservePerNotification = 50 * time.Millisecond
	// DefaultStoreTimeout bounds one attempt of a state read or write.
	DefaultStoreTimeout = 5 * time.Second
	// DefaultRunTimeout is the deadline of a run whose context has none (a local run), so
	// that its claims always outlive its publishing.
	DefaultRunTimeout = 5 * time.Minute
	// DefaultOperationsOverlap is how far before the cursor operations are read again:
	// CloudTrail usually shows a call within about 5 minutes, not always (a run now and then
	// reads SweepEvery back for the later ones: run.overlap).
	DefaultOperationsOverlap = 15 * time.Minute
	// claimSlack is how long a claim outlives the run's deadline, for clock skew between the
	// hosts of overlapping runs.
	claimSlack = time.Minute
	// minReturnMargin is the least time a run returns before its deadline: Lambda counts a
	// return even a millisecond late as a timeout.
	minReturnMargin = 50 * time.Millisecond
)

// Monitor holds what a run needs; build it once and call Run for each invocation. Run may be
// called concurrently: a Monitor holds no state of its own between runs.
type Monitor struct {
	Source    Source
	Store     Store
	Publisher Publisher
	Policy    status.Policy
	// Targets and PhoneNumberIDs are the configured watch list (TARGET_ARNS, PHONE_NUMBER_IDS).
	Targets        []string
	PhoneNumberIDs []string
	// Now is the clock of observations and claims, read at every use: a warm Lambda lives for
	// hours. (The time budget is measured against the context deadline, in wall-clock time.)
	// Nil means time.Now.
	Now func() time.Time
	// InFlight is how many describes may be under way at once; the Source paces them. Below 1
	// means 1.
	InFlight int

	// Operations reads Connect's phone-number calls from CloudTrail (nil: CloudTrail is off,
	// and every rule keeps to the bounds polling alone gives). Cursor keeps where the
	// operations read end between runs (nil: every run looks back a retry window and an
	// hour). OperationsOverlap is how far before the cursor a run reads again (zero:
	// DefaultOperationsOverlap).
	Operations        Operations
	Cursor            Cursor
	OperationsOverlap time.Duration
	// Budget watches the account's claim/release budget (nil: not watched).
	Budget *Budget
	// Lease, when set, makes runs that share it describe one at a time (see leaseConnect), so
	// that concurrent invocations hold Connect's quota to CONNECT_RPS together; nil: no lease.
	Lease Lease
	// LeaseRefill is how long a run that waited for the lease lets Connect's bucket refill
	// before its first request: CONNECT_BURST / CONNECT_RPS (the previous holder left it
	// empty, and this run's own client starts with a burst).
	LeaseRefill time.Duration
	// SweepEvery is how often a scheduled run describes a number that cannot have changed
	// (CLAIMED at its last check, no operation since, owing nothing). Zero describes every
	// number every run.
	SweepEvery time.Duration

	// The finish reserve is the time kept free before the context deadline to save state and
	// publish after the last check: FinishReserve (at most a quarter of the time the run has,
	// so that a short invocation still checks numbers), plus ReservePerRecord for each record the
	// run will save and ReservePerNotification for each notification it will publish. No new
	// check starts when what is left would not cover the reserve for the work taken on so
	// far, and checks still under way are cut when the time comes. Zero per-item costs mean
	// DefaultReservePerRecord and DefaultReservePerNotification.
	FinishReserve          time.Duration
	ReservePerRecord       time.Duration
	ReservePerNotification time.Duration
	// StoreTimeout bounds one attempt of a state read or write (plus ReservePerRecord for each
	// record it writes or reads back), so that a hung connection is abandoned and the call
	// tried again while time is left. Zero means DefaultStoreTimeout.
	StoreTimeout time.Duration

	// NewRunID names a run in claims; a run never confuses its own claim with another's. Nil
	// means 16 random hex digits.
	NewRunID func() string
	// Log receives what the summary does not say. Nil means slog.Default().
	Log *slog.Logger
}

// Scope is what one run checks.
type Scope struct {
	// Scheduled: the configured targets and numbers plus every number already in state.
	Scheduled bool
	// PhoneNumberIDs (IDs or ARNs) and TargetARNs: checked now, and watched from now on.
	PhoneNumberIDs []string
	TargetARNs     []string
}

// Summary is the run summary of DESIGN.md: the handler's return value.
type Summary struct {
	Checked           int            `json:"checked"`
	Statuses          map[string]int `json:"statuses"`
	NotificationsSent int            `json:"notificationsSent"`
	Errors            []NumberError  `json:"errors"`
	Complete          bool           `json:"complete"`
	DurationMs        int64          `json:"durationMs"`
	// Unchanged counts the numbers a scheduled run did not describe because they cannot have
	// changed since their last check (and are not due for the sweep).
	Unchanged int `json:"unchanged"`
	// SweepPending counts the numbers due for the sweep (last check older than SweepEvery)
	// that this run did not reach; the next runs take them, oldest first.
	SweepPending int `json:"sweepPending"`
	// Budget is the claim/release budget of a scheduled run (absent when not watched).
	Budget *BudgetSummary `json:"budget,omitempty"`

	// Unconfirmed counts the publishes SNS left unanswered (a timeout, a connection reset
	// after sending): each may have been delivered and is sent again by the next run with the
	// same notificationId, so it is the number of copies subscribers may get (the
	// UnconfirmedPublishes metric, alarmed when it persists).
	Unconfirmed int `json:"unconfirmedPublishes"`

	// For metrics: operations read from CloudTrail, whether reading them failed, and records
	// not in phonewatch's format.
	Operations       int  `json:"-"`
	OperationsFailed bool `json:"-"`
	InvalidRecords   int  `json:"-"`
	// NearestDeadline is the earliest retry deadline of an open FAILED episode (for metrics).
	NearestDeadline time.Time `json:"-"`
}

// NumberError is one number (or target) that could not be checked or notified this run.
type NumberError struct {
	PhoneNumberID string `json:"phoneNumberId"`
	Error         string `json:"error"`
}

// HoursToNearestDeadline is for metrics: hours from now to the nearest open deadline, or NaN.
func (s Summary) HoursToNearestDeadline(now time.Time) float64 {
	if s.NearestDeadline.IsZero() {
		return math.NaN()
	}
	return s.NearestDeadline.Sub(now).Hours()
}

// item is one number to check in this run.
type item struct {
	id   string
	ref  string // what to describe: the ARN where known, else the ID
	prev *status.Record
	num  status.Number // what listing or configuration knows of it
	// listed: this run's ListPhoneNumbersV2 answer had it, so Connect has the number: a 404
	// for it in this run is transient (status.Observation.Listed).
	listed bool

	obs  status.Observation
	err  error
	done bool // observed (obs is set); err may still say something worth reporting
	cut  bool // stopped by this run's time budget: not an error, the next run checks it first
	// skipped: the record is claimed by another live run, which is notifying this number
	// right now; this run neither decides nor writes it, but it was checked.
	skipped bool
	at      time.Time // when the describe answered
	next    status.Record
	notes   []status.Notification
	sent    int // notes delivered

	class class // why a scheduled run describes it
	// op and release are the newest Claim/Update and Release known for the number: the
	// record's own or one read from CloudTrail this run, whichever is newer.
	op, release *status.Operation
	touched     bool // an operation newer than the record's was read this run
	saved       bool // its next record was written this run (the final state write)
	invalid     bool // its record is not in phonewatch's format: reported, never described
}

// run is the state of one Run call.
type run struct {
	*Monitor
	id string
	// start is when the run began, in wall-clock time: the duration is the run's own, whatever
	// the Monitor's clock says (a local run may stand at one instant).
	start time.Time
	sum   Summary
	// checkErrs are the errors of numbers that could not be checked, and listErrs those of
	// listings, for the run's error.
	checkErrs, listErrs []error
	started             int // checks started
	// reserve is the fixed part of the finish reserve, scaled to the time the run has.
	reserve time.Duration
	// timeLeft is the time the run had at its start, up to its deadline.
	timeLeft time.Duration
	// opsTo is where the operations read this run end, zero unless the read was complete.
	opsTo time.Time
	// learned is the per-record save reserve learned from the first state read (zero before).
	learned time.Duration
	// leaseWaited is set when another run held the Connect lease when this one wanted it.
	leaseWaited bool
}

// Run checks the scope once. Per-number problems are entries in Summary.Errors. It returns an
// error when no number at all could be checked, and when state could not be read or saved
// (after retries), so that the errors alarm fires; the summary is filled in either way.
func (m *Monitor) Run(ctx context.Context, scope Scope) (Summary, error) {
	ctx, cancel, reserve := m.bound(ctx)
	defer cancel()
	r := &run{
		Monitor: m,
		id:      m.runID(),
		start:   time.Now(),
		sum:     Summary{Statuses: map[string]int{}, Errors: []NumberError{}, Complete: true},
		reserve: reserve,
	}
	if dl, ok := ctx.Deadline(); ok {
		r.timeLeft = time.Until(dl)
	}
	// The Connect lease covers listing as well as describing.
	release := r.leaseConnect(ctx)
	defer release()
	p, err := r.gather(ctx, scope)
	if err != nil {
		return r.finish(), err
	}
	// The budget's ledger reads go on the paced reader after the run's own read.
	awaitBudget := r.startBudget(ctx, scope.Scheduled, p.ops.in())
	items := r.check(ctx, p, scope.Scheduled)
	release()
	saveErr := r.persist(ctx, items)
	r.count(items)
	r.advanceCursor(ctx, items, scope.Scheduled, saveErr == nil)
	awaitBudget()
	if saveErr != nil && r.stateUnwritable(ctx, items) {
		return r.finish(), saveErr
	}
	// Errors of CloudTrail or of foreign records do not keep a number from being checked;
	// a run with nothing to describe (every number unchanged) has checked all it should.
	// Every watched number's record unreadable is no number checked either (numbers left
	// alone as unchanged are fine: nothing needed checking).
	allInvalid := r.sum.InvalidRecords > 0 && r.sum.Unchanged == 0
	if r.sum.Checked == 0 && (len(items) > 0 || len(r.listErrs) > 0 || allInvalid) {
		err := r.nothingChecked(len(items))
		r.log().ErrorContext(ctx, "no number could be checked", "error", err)
		return r.finish(), err
	}
	return r.finish(), nil
}

// stateUnwritable reports whether the run's failed saves mean the state cannot be written at
// all: nothing this run had to save was stored, and not for want of time. Then the invocation
// fails (the errors alarm). A partial save, or one the deadline cut, returns the summary
// instead, with each unsaved number in its errors and complete false: the next run resumes.
func (r *run) stateUnwritable(ctx context.Context, items []*item) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return false
	}
	for _, it := range items {
		if it.saved {
			return false
		}
	}
	return true
}

// bound gives the run a deadline (DefaultRunTimeout when ctx has none, so that claims always
// outlive publishing) that ends a margin before ctx's own: max(50 ms, 1 % of the time left),
// since Lambda counts a return a millisecond late as a timeout. It returns the fixed part of
// the finish reserve for that time: FinishReserve, but at most a quarter of it.
func (m *Monitor) bound(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(DefaultRunTimeout)
	}
	left := time.Until(dl)
	ctx, cancel := context.WithDeadline(ctx, dl.Add(-ReturnMargin(left)))
	return ctx, cancel, ScaledReserve(m.FinishReserve, left)
}

// ReturnMargin is how long before its deadline a run with this much time returns.
func ReturnMargin(left time.Duration) time.Duration {
	return max(minReturnMargin, left/100)
}

// ScaledReserve is the fixed finish reserve of a run with this much time: the configured
// one, but never more than a quarter of the time, so that a short invocation (a 5 s or 12 s
// function timeout) spends most of it checking.
func ScaledReserve(configured, left time.Duration) time.Duration {
	return max(0, min(configured, left/4))
}

// nothingChecked is the run's error when no number could be checked: it quotes the first
// check error (which names a missing IAM action, e.g. connect:DescribePhoneNumber), or else
// the first other error, or says that the time budget allowed none.
func (r *run) nothingChecked(n int) error {
	switch {
	case len(r.checkErrs) > 0:
		return fmt.Errorf("no number could be checked (%d of %d tried): %w", r.started, n, r.checkErrs[0])
	case len(r.listErrs) > 0:
		return fmt.Errorf("no number could be checked: list: %w", r.listErrs[0])
	case n == 0 && r.sum.InvalidRecords > 0:
		return fmt.Errorf("no number could be checked: the stored record of each of the %d watched numbers is not "+
			"in phonewatch's format (the summary's errors give each reason; a clock behind the one that wrote them "+
			"is one, a newer phonewatch another); nothing was changed", r.sum.InvalidRecords)
	case r.started == 0 && r.leaseWaited:
		return fmt.Errorf("no number could be checked before the deadline: another run held the Connect lease " +
			"(runs describe one at a time, to keep to CONNECT_RPS together) until then; send the request again")
	default:
		return fmt.Errorf("no number could be checked before the deadline: %d of %d checks started, none "+
			"finished in time (Connect slow or unreachable, or the function's timeout too short for the "+
			"finish reserve)", r.started, n)
	}
}

// count fills the summary's counts from the items.
func (r *run) count(items []*item) {
	for _, it := range items {
		if !it.done {
			if it.class == classSweep && it.err == nil {
				r.sum.SweepPending++ // due, but the budget did not reach it
			}
			continue
		}
		r.sum.Checked++
		r.sum.Statuses[string(it.obs.Status)]++
		rec := &it.next
		if it.skipped {
			rec = it.prev // the other run's record is the best knowledge of the episode
		}
		if e := rec.Episode; e.Open() && rec.Status == status.Failed {
			if r.sum.NearestDeadline.IsZero() || e.Deadline.Before(r.sum.NearestDeadline) {
				r.sum.NearestDeadline = e.Deadline
			}
		}
	}
}

func (r *run) finish() Summary {
	r.sum.DurationMs = time.Since(r.start).Milliseconds()
	return r.sum
}

func (r *run) addError(id string, err error) {
	r.sum.Errors = append(r.sum.Errors, NumberError{PhoneNumberID: id, Error: err.Error()})
}

// InFlightFor is how many describes to keep under way for a Source paced at rps with burst:
// enough to hold the rate when a call takes up to half a second, and no more, since the
// Source's limiter, not the pool, sets the pace.
func InFlightFor(rps float64, burst int) int {
	return min(64, max(2, int(math.Ceil(rps/2))+burst))
}

func (m *Monitor) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

func (m *Monitor) runID() string {
	if m.NewRunID != nil {
		return m.NewRunID()
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

func (m *Monitor) log() *slog.Logger {
	if m.Log == nil {
		return slog.Default()
	}
	return m.Log
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// isContextErr reports whether err is a context's end rather than a failure of the call
// itself; that includes a rate limiter (golang.org/x/time/rate) refusing a wait that would
// outlast the deadline, which a Source may return unwrapped.
func isContextErr(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		strings.Contains(err.Error(), "would exceed context deadline")
}
