package status

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy is the configured timing of notifications.
type Policy struct {
	// RetryWindow is how long Connect keeps a FAILED number before releasing it (one day).
	RetryWindow time.Duration
	// Reminders are offsets before the deadline at which to remind, each in (0, RetryWindow).
	Reminders []time.Duration
	// StuckAfter is the IN_PROGRESS age that raises STUCK.
	StuckAfter time.Duration
	// NotifyRecovery sends RECOVERED when an announced FAILED number becomes CLAIMED.
	NotifyRecovery bool
	// GoneAfter is the least time between the two ResourceNotFound checks that confirm a
	// number gone: one schedule period, so that two overlapping runs (or a check request just
	// after a scheduled run) never confirm it. Zero means DefaultGoneAfter, scaled down with a
	// compressed RetryWindow (see GoneGap).
	GoneAfter time.Duration
}

// DefaultGoneAfter is the shortest schedule period the template allows (5 minutes): the
// function is not told its schedule, so two 404s are confirmed only this far apart.
const DefaultGoneAfter = 5 * time.Minute

// GoneGap is the least time between two 404s that confirm a number gone: GoneAfter when set,
// else DefaultGoneAfter, or 1/288 of a RetryWindow shorter than a day (5 minutes is 1/288 of
// 24 hours), so that tests that compress time to seconds keep the same proportions.
func (p Policy) GoneGap() time.Duration {
	if p.GoneAfter > 0 {
		return p.GoneAfter
	}
	return min(DefaultGoneAfter, p.RetryWindow/288)
}

// CallSkew is how far a Claim/Update call's CloudTrail eventTime may lie after the check that
// first saw its failure and still be that failure's call rather than a retry: the clocks of
// CloudTrail and of the host that checked may differ by this much (NTP keeps both far closer).
const CallSkew = 2 * time.Minute

// DefaultPolicy is DESIGN.md's defaults.
func DefaultPolicy() Policy {
	return Policy{
		RetryWindow:    24 * time.Hour,
		Reminders:      []time.Duration{6 * time.Hour, time.Hour},
		StuckAfter:     30 * time.Minute,
		NotifyRecovery: true,
	}
}

// RecordFormat is the format version of the records this code writes (Record.Format). Format 1
// (no attribute) is the first version's; a record of a newer format is read, and what this
// code does not know of it is kept on write.
const RecordFormat = 2

// Record is the state kept for one number between runs.
type Record struct {
	Number

	// Format is the record's format version (RecordFormat when written by this code).
	Format int `json:"format,omitempty" dynamodbav:"format,omitempty"`

	// Status and StatusMessage are what the latest check saw.
	Status        Status `json:"status,omitempty" dynamodbav:"status,omitempty"`
	StatusMessage string `json:"statusMessage,omitempty" dynamodbav:"statusMessage,omitempty"`
	// CheckedAt is the latest successful check.
	CheckedAt time.Time `json:"checkedAt" dynamodbav:"checkedAt"`
	// NotFailedAt is the latest check that saw the number not FAILED: t_prev of the
	// transition deadline basis.
	NotFailedAt time.Time `json:"notFailedAt,omitzero" dynamodbav:"notFailedAt,omitempty"`
	// LastClaimedAt is the latest check that saw the number CLAIMED: a Claim/Update call
	// before it succeeded, so it is never named as the call that failed.
	LastClaimedAt time.Time `json:"lastClaimedAt,omitzero" dynamodbav:"lastClaimedAt,omitempty"`

	// InProgressSince is the first check of the current IN_PROGRESS spell; StuckSentAt is set
	// once STUCK was delivered for that spell.
	InProgressSince time.Time `json:"inProgressSince,omitzero" dynamodbav:"inProgressSince,omitempty"`
	StuckSentAt     time.Time `json:"stuckSentAt,omitzero" dynamodbav:"stuckSentAt,omitempty"`

	// Episode is the current FAILED episode, or one that ended and still owes RECOVERED; nil
	// when there is none.
	Episode *Episode `json:"episode,omitempty" dynamodbav:"episode,omitempty"`

	// Operation is the latest Claim/Update call known for the number; Release a
	// ReleasePhoneNumber call known after it. Both from CloudTrail, nil when none is known.
	Operation *Operation `json:"operation,omitempty" dynamodbav:"operation,omitempty"`
	Release   *Operation `json:"release,omitempty" dynamodbav:"release,omitempty"`
	// NotFoundAt is the first of the consecutive checks that found the number gone
	// (ResourceNotFound) while that is not yet confirmed by a second run or a release.
	NotFoundAt time.Time `json:"notFoundAt,omitzero" dynamodbav:"notFoundAt,omitempty"`
	// NotFoundAfter is the check before NotFoundAt: their interval is the cadence at which the
	// number is checked, and a second 404 confirms "gone" only that long after the first (at
	// least Policy.GoneGap, at most 12 of them): two 404s inside one transient spell, from a
	// run between two scheduled ones, confirm nothing. Zero: GoneGap alone.
	NotFoundAfter time.Time `json:"notFoundAfter,omitzero" dynamodbav:"notFoundAfter,omitempty"`
	// Attempted holds the IDs of notifications that a run claimed the record to publish and
	// that SNS has not confirmed since: the run may have died after publishing, or SNS's answer
	// was lost. Each is still owed (Decide decides it again, and it is sent again with the same
	// ID until SNS confirms it); Attempted only says that people may already have it, so that
	// RECOVERED is owed after a FAILED or EXPIRED that may have reached them.
	Attempted []string `json:"attempted,omitempty" dynamodbav:"attempted,omitempty"`

	// Version is the store's optimistic lock: a save succeeds only over the version it read.
	Version int64 `json:"version" dynamodbav:"version"`
	// ClaimedBy and ClaimUntil mark a run that is publishing this record's notifications:
	// other runs leave the record alone until ClaimUntil, so that one notification is never
	// sent twice by runs that overlap.
	ClaimedBy  string    `json:"claimedBy,omitempty" dynamodbav:"claimedBy,omitempty"`
	ClaimUntil time.Time `json:"claimUntil,omitzero" dynamodbav:"claimUntil,omitempty"`

	// Invalid is set by a store for a stored item it could not read as a record (the reason,
	// naming the attribute): only ID is then meaningful. Such a number is reported, not
	// decided or written, and never stops the others. Never stored.
	Invalid string `json:"-" dynamodbav:"-"`
}

// Episode is one FAILED episode: from the first check that saw the number FAILED until it is
// seen not FAILED (or gone), plus what has been announced about it.
type Episode struct {
	FailedSince time.Time `json:"failedSince" dynamodbav:"failedSince"`
	Deadline    time.Time `json:"retryDeadline" dynamodbav:"retryDeadline"`
	Basis       Basis     `json:"deadlineBasis" dynamodbav:"deadlineBasis"`
	// FailedAfter is the latest check that saw the number not FAILED before this episode
	// (basis transition only): the claim failed after it.
	FailedAfter time.Time `json:"failedAfter,omitzero" dynamodbav:"failedAfter,omitempty"`
	// BoundSince is the first FAILED sight of the episode whose deadline bounds this one
	// carries: the chain's first when a failed retry kept them (see chainEpisode), else
	// FailedSince. A call CloudTrail delivers late is that failure's call when it lies before
	// this sight. Zero in records of earlier versions: FailedSince.
	BoundSince time.Time `json:"boundSince,omitzero" dynamodbav:"boundSince,omitempty"`
	// EndedAt is the first check that saw the number leave FAILED; zero while open.
	EndedAt time.Time `json:"endedAt,omitzero" dynamodbav:"endedAt,omitempty"`

	// Failure says whether a claim or an update failed, as far as known.
	Failure Failure `json:"failure,omitempty" dynamodbav:"failure,omitempty"`
	// Operation is the call that failed (basis operation), nil when unknown.
	Operation *Operation `json:"operation,omitempty" dynamodbav:"operation,omitempty"`
	// LatestRelease is the latest the number can be released (first FAILED sight of the chain
	// + window), zero for basis first-observation where it equals the deadline.
	LatestRelease time.Time `json:"latestRelease,omitzero" dynamodbav:"latestRelease,omitempty"`
	// LastFailedAt is the latest check that saw the number FAILED in this episode.
	LastFailedAt time.Time `json:"lastFailedAt,omitzero" dynamodbav:"lastFailedAt,omitempty"`
	// Retries counts the retries in this chain of failures that failed too (0: the first).
	Retries int `json:"retries,omitempty" dynamodbav:"retries,omitempty"`
	// PreviousDeadline is the deadline the chain had before an operation proved a new claim or
	// update and restarted it (zero otherwise): a new FAILED states both.
	PreviousDeadline time.Time `json:"previousDeadline,omitzero" dynamodbav:"previousDeadline,omitempty"`

	FailedSentAt  time.Time `json:"failedSentAt,omitzero" dynamodbav:"failedSentAt,omitempty"`
	RemindedAt    time.Time `json:"remindedAt,omitzero" dynamodbav:"remindedAt,omitempty"`
	ExpiredSentAt time.Time `json:"expiredSentAt,omitzero" dynamodbav:"expiredSentAt,omitempty"`

	// AnnouncedDeadline is the deadline that the last delivered FAILED, DEADLINE or REMINDER
	// stated: the one people act on. When Deadline moves earlier than it, DEADLINE is owed.
	AnnouncedDeadline time.Time `json:"announcedDeadline,omitzero" dynamodbav:"announcedDeadline,omitempty"`
	// DeadlineSentAt is when the last DEADLINE was delivered; DeadlineReason why the deadline
	// last moved earlier.
	DeadlineSentAt time.Time      `json:"deadlineSentAt,omitzero" dynamodbav:"deadlineSentAt,omitempty"`
	DeadlineReason DeadlineReason `json:"deadlineReason,omitempty" dynamodbav:"deadlineReason,omitempty"`
}

// Open reports whether the number is still in this episode (not yet seen leaving FAILED).
func (e *Episode) Open() bool { return e != nil && e.EndedAt.IsZero() }

// Announced reports whether FAILED or EXPIRED was delivered for this episode: either tells
// people the number failed, so RECOVERED is owed and FAILED is no longer news.
func (e *Episode) Announced() bool {
	return e != nil && (!e.FailedSentAt.IsZero() || !e.ExpiredSentAt.IsZero())
}

// Retired reports whether there is nothing left to watch or say about this number: it is gone
// from Connect and any FAILED episode it had has been reported EXPIRED.
func (r *Record) Retired() bool {
	return r.Status == NotFound && (r.Episode == nil || !r.Episode.ExpiredSentAt.IsZero())
}

// MaxClaim is the longest claim any run can hold: Lambda's 15-minute maximum plus slack. A
// claim reaching further than that past now was not written by a run of this code (a bug, a
// hand edit, a clock far ahead) and is void, so that it cannot hide a number for ever.
const MaxClaim = 17 * time.Minute

// MaxSkew is the clock skew tolerated between the hosts that write one state table. A record
// stamped later than the reader's clock is not rejected for it: Clamp ignores its future
// stamps, so that a host whose clock ran ahead can neither silence a number nor move a
// deadline later.
const MaxSkew = 15 * time.Minute

// WriterSkew is the most a local command's clock may differ from AWS's when it writes a shared
// table. It lies well inside CallSkew and the gone gap, whose rules compare stamps written by
// different hosts: an operator's clock 10 minutes slow (inside MaxSkew) read no CloudTrail event
// after its own time, stated first-observation, and made the Lambda take the same claim for a
// retry (the simulated world, seed 1001295); one 5 minutes fast confirmed "gone" from two 404s
// 27 seconds apart (seed 1007986). A clock that NTP keeps is off by milliseconds.
const WriterSkew = 30 * time.Second

// Clamp makes r fit the reader's clock `now`: no stamp of r lies after it, and no bound is
// taken from one that did (a host whose clock ran ahead wrote it). The last check and the
// times of sightings are moved back to now, so that the reader's next check is not stale (the
// stamps of deliveries are kept: what was sent was sent); a
// not-FAILED check from the future is dropped (it bounds nothing: the number may have failed
// before it); an episode that began in the future, or whose transition bound lies there, gets
// at most now + the window, basis first-observation when no lower bound is left. It reports
// whether anything changed.
func (r *Record) Clamp(now time.Time, p Policy) bool {
	changed := false
	back := func(t *time.Time, to time.Time) {
		if t.After(now) {
			*t, changed = to, true
		}
	}
	back(&r.CheckedAt, now)
	back(&r.NotFailedAt, time.Time{})
	back(&r.LastClaimedAt, now)
	back(&r.InProgressSince, now)
	back(&r.NotFoundAt, now)
	back(&r.NotFoundAfter, now)
	e := r.Episode
	if e == nil {
		return changed
	}
	future := e.FailedSince.After(now) || e.FailedAfter.After(now)
	back(&e.FailedSince, now)
	back(&e.BoundSince, now)
	back(&e.FailedAfter, time.Time{})
	back(&e.EndedAt, now)
	back(&e.LastFailedAt, now)
	// The stamps of what was delivered stay as they are: a delivery stamped after the
	// reader's clock still happened, and moving it back would make a reminder it covered due
	// again (a reader 14 minutes slow would have the next run send the same REMINDER twice).
	if !future {
		return changed
	}
	if e.Basis == BasisTransition && e.FailedAfter.IsZero() {
		e.Basis, e.LatestRelease = BasisFirstObservation, time.Time{}
	}
	if latest := now.Add(p.RetryWindow); e.Deadline.After(latest) {
		e.Deadline = latest
	}
	if !e.LatestRelease.IsZero() {
		e.LatestRelease = laterOf(earlierOf(e.LatestRelease, now.Add(p.RetryWindow)), e.Deadline)
	}
	return true
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlierOf(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ClaimedByOther reports whether a run other than `by` holds the record at `now`. A claim that
// ends more than MaxClaim after now is void.
func (r *Record) ClaimedByOther(by string, now time.Time) bool {
	return r.ClaimedBy != "" && r.ClaimedBy != by && now.Before(r.ClaimUntil) && !r.ClaimUntil.After(now.Add(MaxClaim))
}

// NoteAttempted records that the notification with this ID is about to be published, or was
// published without a confirmation: people may have it.
func (r *Record) NoteAttempted(id string) {
	if id != "" && !r.WasAttempted(id) {
		r.Attempted = append(r.Attempted, id)
	}
}

// WasAttempted reports whether the notification with this ID may have been delivered by an
// attempt that SNS did not confirm.
func (r *Record) WasAttempted(id string) bool { return slices.Contains(r.Attempted, id) }

// ForgetAttempted drops the ID from Attempted: it was delivered (and marked sent), or its only
// attempt definitely delivered nothing.
func (r *Record) ForgetAttempted(id string) { r.Attempted = without(r.Attempted, id) }

// without returns ids less id, nil when empty.
func without(ids []string, id string) []string {
	ids = slices.DeleteFunc(ids, func(a string) bool { return a == id })
	if len(ids) == 0 {
		return nil
	}
	return ids
}

// pruneAttempted keeps Attempted small: only IDs of the current episode (or the one that
// still owes RECOVERED) and of the current IN_PROGRESS spell can be decided again.
func (r *Record) pruneAttempted() {
	var live []string
	if r.Episode != nil {
		live = append(live, "/"+stamp(r.Episode.FailedSince))
	}
	if !r.InProgressSince.IsZero() {
		live = append(live, "/"+string(EventStuck)+"/"+stamp(r.InProgressSince))
	}
	dead := func(id string) bool {
		return !slices.ContainsFunc(live, func(l string) bool { return strings.Contains(id, l) })
	}
	r.Attempted = slices.DeleteFunc(r.Attempted, dead)
	if len(r.Attempted) == 0 {
		r.Attempted = nil
	}
}

// ErrBadRecord is what Check returns (wrapped): a stored record the decision cannot trust.
var ErrBadRecord = errors.New("record not usable")

// Check reports a record, as read from a store, that the decision cannot trust, naming the
// attribute: the monitor reports such a number and skips it, never the others. A record of a
// newer Format is fine: what this code does not know of it is kept by the store.
func (r *Record) Check(now time.Time) error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadRecord, field, fmt.Sprintf(format, args...))
	}
	switch {
	case r.Version < 0:
		return bad("version", "%d is negative", r.Version)
	case r.Status != "" && !slices.Contains([]Status{Claimed, InProgress, Failed, NotFound}, r.Status):
		return bad("status", "%q is not CLAIMED, IN_PROGRESS, FAILED or NOT_FOUND", r.Status)
	case r.Status != "" && r.CheckedAt.IsZero():
		return bad("checkedAt", "missing while status is %s", r.Status)
	}
	if e := r.Episode; e != nil {
		switch {
		case e.FailedSince.IsZero():
			return bad("episode.failedSince", "missing")
		case e.Deadline.IsZero():
			return bad("episode.retryDeadline", "missing")
		case e.FailedAfter.After(e.FailedSince):
			// A deadline before failedSince is legitimate (checks further apart than the
			// window); a failure bounded from a check after it saw FAILED is not.
			return bad("episode.failedAfter", "later than failedSince")
		case !e.LatestRelease.IsZero() && e.LatestRelease.Before(e.Deadline):
			return bad("episode.latestRelease", "earlier than retryDeadline")
		}
	}
	return nil
}

// clone returns a deep copy, so that Decide never changes its input.
func (r *Record) clone() Record {
	c := *r
	if r.Episode != nil {
		e := *r.Episode
		e.Operation = r.Episode.Operation.clone()
		c.Episode = &e
	}
	c.Operation, c.Release = r.Operation.clone(), r.Release.clone()
	c.Attempted = slices.Clone(r.Attempted)
	return c
}
