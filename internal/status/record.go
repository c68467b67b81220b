package status

import "time"

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
}

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
	// Attempted holds the IDs of notifications published under a claim whose delivery is not
	// known to have failed (accepted unseen, or the mark write was lost): a later run may send
	// each once more, and then marks it sent whatever the answer (at most one repeat).
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

	FailedSentAt  time.Time `json:"failedSentAt,omitzero" dynamodbav:"failedSentAt,omitempty"`
	RemindedAt    time.Time `json:"remindedAt,omitzero" dynamodbav:"remindedAt,omitempty"`
	ExpiredSentAt time.Time `json:"expiredSentAt,omitzero" dynamodbav:"expiredSentAt,omitempty"`
}

// Open reports whether the number is still in this episode (not yet seen leaving FAILED).
func (e *Episode) Open() bool { return e != nil && e.EndedAt.IsZero() }

// Announced reports whether FAILED was delivered for this episode.
func (e *Episode) Announced() bool { return e != nil && !e.FailedSentAt.IsZero() }

// Retired reports whether there is nothing left to watch or say about this number: it is gone
// from Connect and any FAILED episode it had has been reported EXPIRED.
func (r *Record) Retired() bool {
	return r.Status == NotFound && (r.Episode == nil || !r.Episode.ExpiredSentAt.IsZero())
}

// ClaimedByOther reports whether a run other than `by` holds the record at `now`.
func (r *Record) ClaimedByOther(by string, now time.Time) bool {
	return r.ClaimedBy != "" && r.ClaimedBy != by && now.Before(r.ClaimUntil)
}

// clone returns a deep copy, so that Decide never changes its input.
func (r *Record) clone() Record {
	c := *r
	if r.Episode != nil {
		e := *r.Episode
		c.Episode = &e
	}
	return c
}
