package status

import (
	"strconv"
	"strings"
	"time"
)

// Decide is the whole notification policy: given the previous record of a number (nil if it was
// never seen), one observation of it and the policy, it returns the next record and the
// notifications now due, each with its stable ID. It never marks anything sent: call MarkSent
// for each notification once it was delivered, so that an undelivered one is decided again by
// the next run, and a delivered one never is.
//
// An observation stamped before the record's last check (overlapping runs, skewed clocks)
// changes nothing and sends nothing. A single ResourceNotFound is not yet "gone": it is
// confirmed by the next run's check or by a ReleasePhoneNumber newer than any claim or update.
func Decide(prev *Record, o Observation, p Policy) (Record, []Notification) {
	if prev != nil && o.At.Before(prev.CheckedAt) {
		return prev.clone(), nil
	}
	var r Record
	if prev != nil {
		r = prev.clone()
	}
	r.Format = RecordFormat
	r.keepOperations(o)
	if o.Status == NotFound && !r.goneConfirmed(o.At) {
		// Possibly transient: remember the first 404 and leave everything else as it was.
		if r.NotFoundAt.IsZero() {
			r.NotFoundAt = o.At
		}
		if r.ID == "" {
			r.Number = o.Number // never seen before: the record still names its number
		}
		r.CheckedAt = o.At
		return r, nil
	}
	out := decide(&r, o, p)
	for i := range out {
		out[i].ID = notificationID(out[i])
	}
	r.pruneAttempted()
	return r, out
}

// decide applies a trusted observation (not stale, gone only when confirmed) to r.
func decide(r *Record, o Observation, p Policy) []Notification {
	now := o.At
	prevStatus, prevSpell := r.Status, r.InProgressSince
	if o.Status != NotFound || r.ID == "" {
		r.Number = o.Number // a vanished number keeps the description it had
	}
	r.Status, r.StatusMessage, r.CheckedAt, r.NotFoundAt = o.Status, o.Message, now, time.Time{}

	if o.Status != InProgress {
		r.InProgressSince, r.StuckSentAt = time.Time{}, time.Time{}
	}
	if o.Status != Failed && r.Episode.Open() {
		r.Episode.EndedAt = now
	}
	if o.Status != NotFound {
		if prevStatus == NotFound {
			// Back after it was gone: a new claim of the number, so whatever its old episode
			// still owed (EXPIRED, RECOVERED) is no longer true.
			r.Episode = nil
		}
		if r.Release != nil && now.After(r.Release.At) {
			r.Release = nil // seen after its release: claimed again
		}
	}

	var out []Notification
	switch o.Status {
	case Failed:
		r.Episode = nextEpisode(r, o, p, prevStatus, prevSpell)
		r.Episode.LastFailedAt = now
		out = failedNotes(r, o, p)
	case InProgress:
		if prevStatus != InProgress || r.InProgressSince.IsZero() {
			r.InProgressSince, r.StuckSentAt = now, time.Time{}
		}
		if r.StuckSentAt.IsZero() && now.Sub(r.InProgressSince) >= p.StuckAfter {
			n := note(EventStuck, r, o)
			n.InProgressSince = r.InProgressSince
			out = append(out, n)
		}
	case Claimed:
		switch {
		case r.Episode == nil:
		case p.NotifyRecovery && r.mayHaveAnnounced():
			out = append(out, episodeNote(EventRecovered, r, o))
		default:
			r.Episode = nil // nothing was announced, or recovery is not to be announced
		}
	case NotFound:
		out = goneNotes(r, o, prevStatus, prevSpell)
	}
	// A 404 at first sight proves nothing about the status (it may be transient): it is no
	// not-FAILED check to bound a later deadline from.
	if o.Status != Failed && (o.Status != NotFound || prevStatus != "") {
		r.NotFailedAt = now
	}
	return out
}

// goneNotes is what a confirmed gone check owes. Gone while FAILED (or during the retry that
// followed it): released, so EXPIRED. Gone after the number was seen CLAIMED again is a release
// by the owner, not an expiry: the episode is dropped, as a RECOVERED still owed for it can no
// longer be true, and the record can retire.
func goneNotes(r *Record, o Observation, prevStatus Status, prevSpell time.Time) []Notification {
	e := r.Episode
	if e == nil || !e.ExpiredSentAt.IsZero() {
		return nil
	}
	if !vanishedFailed(e, prevStatus, prevSpell) {
		r.Episode = nil
		return nil
	}
	n := episodeNote(EventExpired, r, o)
	n.LastFailedAt, n.Release = e.LastFailedAt, r.Release.clone()
	return []Notification{n}
}

// keepOperations stores the operations the observation knows of when they are newer than the
// record's: Claim/Update in Operation, ReleasePhoneNumber in Release.
func (r *Record) keepOperations(o Observation) {
	if o.Operation.changes() && o.Operation.Newer(r.Operation) {
		r.Operation = o.Operation.clone()
	}
	if o.Release != nil && o.Release.Name == OpRelease && o.Release.Newer(r.Release) {
		r.Release = o.Release.clone()
	}
}

// mayHaveAnnounced reports whether the episode's FAILED or EXPIRED may have reached people:
// delivered, or published without a confirmation (still attempted). Either way RECOVERED is
// owed when the number is claimed again.
func (r *Record) mayHaveAnnounced() bool {
	e := r.Episode
	if e.Announced() {
		return true
	}
	if e == nil {
		return false
	}
	for _, ev := range []Event{EventFailed, EventExpired} {
		if r.WasAttempted(r.ID + "/" + string(ev) + "/" + stamp(e.FailedSince)) {
			return true
		}
	}
	return false
}

// goneConfirmed reports whether a ResourceNotFound at `at` means the number is gone: it was
// already gone, the previous check found it gone too (a number never seen included: one 404
// may be transient), or a ReleasePhoneNumber newer than the latest claim/update came before
// the check.
func (r *Record) goneConfirmed(at time.Time) bool {
	switch {
	case r.Status == NotFound:
		return true
	case !r.NotFoundAt.IsZero() && at.After(r.NotFoundAt):
		return true
	default:
		rel := r.Release
		return rel != nil && !rel.At.After(at) && rel.Newer(r.Operation)
	}
}

// failingOp is the latest Claim/Update known at `at`, nil when none is: the call whose failure
// a FAILED seen at `at` can be.
func (r *Record) failingOp(at time.Time) *Operation {
	if op := r.Operation; op.changes() && !op.At.After(at) {
		return op
	}
	return nil
}

// vanishedFailed reports whether a number now gone was, at its previous check, still in the
// FAILED episode e or in the retry that directly followed it, so that EXPIRED is owed for e.
// prevStatus and prevSpell are the previous check's status and IN_PROGRESS spell start. An
// episode that survives a gone check is one whose EXPIRED was owed, so a later gone check
// retries it.
func vanishedFailed(e *Episode, prevStatus Status, prevSpell time.Time) bool {
	switch prevStatus {
	case Failed, NotFound:
		return true
	case InProgress:
		return retrying(e, prevStatus, prevSpell)
	default:
		return false
	}
}

// retrying reports whether the previous check (prevStatus, IN_PROGRESS spell prevSpell) was the
// retry that directly followed the ended episode e: its spell began at the very check that
// ended e. A spell that began later followed a CLAIMED check, i.e. a recovery.
func retrying(e *Episode, prevStatus Status, prevSpell time.Time) bool {
	return e != nil && !e.Open() && prevStatus == InProgress && prevSpell.Equal(e.EndedAt)
}

// nextEpisode is the episode a FAILED check at o.At is in: the open one; a new episode of the
// same chain after a retry (FAILED, IN_PROGRESS, FAILED again), keeping the chain's earliest
// deadline; or a fresh one. A Claim/Update newer than the chain's operation and later than its
// episode's first FAILED sight proves a new claim or update: the deadline restarts from it.
func nextEpisode(r *Record, o Observation, p Policy, prevStatus Status, prevSpell time.Time) *Episode {
	e := r.Episode
	op := r.failingOp(o.At)
	chained := e.Open() || retrying(e, prevStatus, prevSpell)
	switch {
	case chained && op.Newer(e.Operation) && op.At.After(e.FailedSince):
		n := freshEpisode(r, o, p, op, prevStatus)
		n.Retries, n.PreviousDeadline = e.Retries+1, e.Deadline
		return n
	case e.Open():
		tighten(e, r, op, p)
		return e
	case chained:
		return chainEpisode(r, o, p, e, prevStatus)
	default:
		return freshEpisode(r, o, p, op, prevStatus)
	}
}

// tighten moves an open episode's deadline earlier where what is known now allows: a
// Claim/Update that CloudTrail delivered late (after the first FAILED sight, as it may by
// minutes, or hours after an outage), later than the last not-FAILED check and not after the
// first FAILED sight, is a lower bound of the failure; and a policy whose window shrank
// bounds the deadline from the episode's own anchor with the new window. It never moves a
// deadline later.
func tighten(e *Episode, r *Record, op *Operation, p Policy) {
	if op != nil && op.At.After(r.NotFailedAt) && !op.At.After(e.FailedSince) &&
		op.At.Add(p.RetryWindow).Before(e.Deadline) && e.Retries == 0 {
		if e.Basis == BasisFirstObservation {
			e.LatestRelease = e.FailedSince.Add(p.RetryWindow)
		}
		e.Basis, e.Deadline, e.FailedAfter = BasisOperation, op.At.Add(p.RetryWindow), time.Time{}
		e.Failure, e.Operation = op.failure(), op.clone()
	}
	anchor := e.FailedSince
	switch {
	case e.Basis == BasisOperation && e.Operation != nil:
		anchor = e.Operation.At
	case e.Basis == BasisTransition && !e.FailedAfter.IsZero():
		anchor = e.FailedAfter
	}
	if d := anchor.Add(p.RetryWindow); d.Before(e.Deadline) {
		e.Deadline = d
	}
	if !e.LatestRelease.IsZero() && e.LatestRelease.Before(e.Deadline) {
		e.LatestRelease = e.Deadline
	}
}

// freshEpisode bounds the deadline of a FAILED episode that starts at o.At (see Basis): the
// failure came after both the latest not-FAILED check and the failing operation, so the later
// of the two plus the window; first sight + window when neither is known.
func freshEpisode(r *Record, o Observation, p Policy, op *Operation, prevStatus Status) *Episode {
	e := &Episode{FailedSince: o.At, Deadline: o.At.Add(p.RetryWindow), Basis: BasisFirstObservation}
	tPrev := r.NotFailedAt
	switch {
	case op != nil && op.At.After(tPrev):
		e.Basis, e.Deadline = BasisOperation, op.At.Add(p.RetryWindow)
	case !tPrev.IsZero():
		e.Basis, e.Deadline, e.FailedAfter = BasisTransition, tPrev.Add(p.RetryWindow), tPrev
	}
	if e.Basis != BasisFirstObservation {
		e.LatestRelease = o.At.Add(p.RetryWindow)
	}
	// The failing call is op when it came after the last not-FAILED check, or when that check
	// saw it still in progress; a CLAIMED check before the failure means an update failed.
	switch {
	case op != nil && (op.At.After(tPrev) || prevStatus == InProgress):
		e.Failure, e.Operation = op.failure(), op.clone()
	case prevStatus == Claimed:
		e.Failure = FailureUpdate
	default:
		e.Failure = FailureUnknown
	}
	return e
}

// chainEpisode is a new episode of the chain whose last episode is prev: a retry that failed
// too. Whether Connect restarts its window on a failed retry is not documented, so the
// deadline stays the chain's, unless the bound from this episode alone is earlier (a policy
// with a shorter window).
func chainEpisode(r *Record, o Observation, p Policy, prev *Episode, prevStatus Status) *Episode {
	e := freshEpisode(r, o, p, nil, prevStatus)
	if !e.Deadline.Before(prev.Deadline) {
		e.Deadline, e.Basis, e.FailedAfter = prev.Deadline, prev.Basis, prev.FailedAfter
		e.Failure, e.Operation = prev.Failure, prev.Operation.clone()
	}
	e.LatestRelease = time.Time{}
	if latest := o.At.Add(p.RetryWindow); latest.After(e.Deadline) {
		e.LatestRelease = latest
	}
	e.Retries = prev.Retries + 1
	return e
}

// failedNotes is what an open FAILED episode owes at o.At: FAILED until announced; EXPIRED once
// at or past the deadline; before it, the nearest reminder that came due since the last
// announcement (earlier ones are covered by it, so a late run never sends a burst).
func failedNotes(r *Record, o Observation, p Policy) []Notification {
	e, now := r.Episode, o.At
	var out []Notification
	if !e.Announced() {
		out = append(out, episodeNote(EventFailed, r, o))
	}
	if !now.Before(e.Deadline) {
		if e.ExpiredSentAt.IsZero() {
			out = append(out, episodeNote(EventExpired, r, o))
		}
		return out
	}
	if !e.Announced() {
		return out // FAILED itself states the deadline and the time left
	}
	last := e.FailedSentAt
	if e.RemindedAt.After(last) {
		last = e.RemindedAt
	}
	// The due reminder nearest the deadline (smallest offset); the others due are covered by it.
	var due time.Duration
	for _, off := range p.Reminders {
		at := e.Deadline.Add(-off)
		if at.After(last) && !at.After(now) && (due == 0 || off < due) {
			due = off
		}
	}
	if due > 0 {
		n := episodeNote(EventReminder, r, o)
		n.Reminder = due
		out = append(out, n)
	}
	return out
}

func note(ev Event, r *Record, o Observation) Notification {
	return Notification{
		Event:         ev,
		Number:        r.Number,
		Status:        o.Status,
		StatusMessage: o.Message,
		ObservedAt:    o.At,
	}
}

func episodeNote(ev Event, r *Record, o Observation) Notification {
	e := r.Episode
	n := note(ev, r, o)
	n.FailedSince, n.RetryDeadline, n.Basis, n.FailedAfter = e.FailedSince, e.Deadline, e.Basis, e.FailedAfter
	n.Failure, n.Operation, n.LatestRelease = e.Failure, e.Operation.clone(), e.LatestRelease
	n.Retries, n.PreviousDeadline = e.Retries, e.PreviousDeadline
	return n
}

// notificationID is n's stable identity: the number, the event, the start of the episode (or
// IN_PROGRESS spell) it is about, and a reminder's offset. Deciding the same notification again
// gives the same ID; no other notification of the number has it.
func notificationID(n Notification) string {
	since := n.FailedSince
	if n.Event == EventStuck {
		since = n.InProgressSince
	}
	id := n.Number.ID + "/" + string(n.Event) + "/" + stamp(since)
	if n.Event == EventReminder {
		id += "/" + FormatOffset(n.Reminder)
	}
	return id
}

// stamp is t in Unix seconds, with the fraction only when there is one (compressed-time
// policies run checks less than a second apart).
func stamp(t time.Time) string {
	s := strconv.FormatInt(t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		s += strings.TrimRight("."+strconv.Itoa(1e9 + ns)[1:], "0")
	}
	return s
}

// FormatOffset writes a duration as configuration does: "6h", "1h30m", "30m", "4s".
func FormatOffset(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarkSent records in r that n was delivered, so that Decide does not produce it again, and
// forgets that it was attempted.
func (r *Record) MarkSent(n Notification) {
	r.ForgetAttempted(n.ID)
	switch n.Event {
	case EventStuck:
		r.StuckSentAt = n.ObservedAt
	case EventRecovered:
		r.Episode = nil
	case EventFailed, EventReminder, EventExpired:
		e := r.Episode
		if e == nil || !e.FailedSince.Equal(n.FailedSince) {
			return // a different episode: nothing to mark
		}
		switch n.Event {
		case EventFailed:
			e.FailedSentAt = n.ObservedAt
		case EventReminder:
			e.RemindedAt = n.ObservedAt
		default:
			e.ExpiredSentAt = n.ObservedAt
		}
	}
}
