package status

import (
	"slices"
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
// changes nothing and sends nothing (a record stamped ahead of the reader's clock is first
// brought back to it with Record.Clamp). A single ResourceNotFound is not yet "gone": it is
// confirmed by another 404 at least Policy.GoneGap later (one schedule period: two
// overlapping runs never confirm it) or by a ReleasePhoneNumber newer than any claim or
// update. A 404 is never a not-FAILED check: it bounds no later deadline.
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
	if o.Status == NotFound && (o.Listed || !r.goneConfirmed(o.At, p)) {
		// Possibly transient: remember the first 404 and leave everything else as it was.
		switch {
		case o.Listed:
			// Connect listed the number in this very run: the 404 is transient, and so was
			// any before it (two transient spells a period apart, with errors between, would
			// otherwise confirm "gone" for a number that never left).
			r.NotFoundAt, r.NotFoundAfter = time.Time{}, time.Time{}
		case r.NotFoundAt.IsZero():
			r.NotFoundAt, r.NotFoundAfter = o.At, r.CheckedAt
		case o.At.Sub(r.NotFoundAt) > r.goneWithin(p):
			// Checks were missed since the first 404 (runs skipped, describes failing): two
			// 404s that far apart may be two transient spells. This one starts anew, at the
			// cadence known before.
			r.NotFoundAt, r.NotFoundAfter = o.At, o.At.Add(-r.goneGap(p))
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
	if r.LastClaimedAt.IsZero() && prevStatus == Claimed {
		r.LastClaimedAt = r.NotFailedAt // a record from before LastClaimedAt was kept
	}
	if o.Status != NotFound || r.ID == "" {
		r.Number = o.Number // a vanished number keeps the description it had
	}
	r.Status, r.StatusMessage, r.CheckedAt, r.NotFoundAt, r.NotFoundAfter = o.Status, o.Message, now, time.Time{}, time.Time{}

	if o.Status != InProgress {
		r.InProgressSince, r.StuckSentAt = time.Time{}, time.Time{}
	}
	// A gone number's episode stays open: should it be seen again without a release or a new
	// claim, the 404s were transient and the episode, with its deadline, goes on.
	if o.Status != Failed && o.Status != NotFound && r.Episode.Open() {
		r.Episode.EndedAt = now
	}
	if o.Status != NotFound {
		if prevStatus == NotFound && r.reclaimed(now) {
			// Back after a release or a new claim: a new life of the number, so whatever its
			// old episode still owed (EXPIRED, RECOVERED) is no longer true, and its checks
			// bound nothing.
			r.Episode, r.NotFailedAt, r.LastClaimedAt = nil, time.Time{}, time.Time{}
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
			// The call that started it, when CloudTrail shows one by then: the text then says
			// since when and by whom, not "it may have started earlier".
			// A call before the last CLAIMED check had completed by then: not this spell's.
			if op := o.Operation; op != nil && !op.At.After(r.InProgressSince) && op.At.After(r.lastClaimed()) {
				n.Operation = op.clone()
			}
			out = append(out, n)
		}
	case Claimed:
		r.LastClaimedAt = now
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
	// A 404 proves nothing about the status (it may be transient, and a number that is really
	// gone has no status): it is no not-FAILED check to bound a later deadline from.
	if o.Status != Failed && o.Status != NotFound {
		r.NotFailedAt = now
	}
	return out
}

// reclaimed reports whether a number seen again at `now` after it was gone has a new life: a
// ReleasePhoneNumber before now is known, or a ClaimPhoneNumber after its episode's last
// FAILED sight. Otherwise the 404s were transient (or the number came back without a trace in
// CloudTrail): its episode and deadline go on, which keeps the deadline never later.
func (r *Record) reclaimed(now time.Time) bool {
	if r.Release != nil && !r.Release.At.After(now) {
		return true
	}
	op, e := r.Operation, r.Episode
	return e != nil && op != nil && op.Name == OpClaim && op.At.After(e.LastFailedAt) && !op.At.After(now)
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
		// Any deadline: the ID ends with the deadline the attempt stated.
		about := r.ID + "/" + string(ev) + "/" + stamp(e.FailedSince)
		if slices.ContainsFunc(r.Attempted, func(id string) bool { return id == about || strings.HasPrefix(id, about+"/") }) {
			return true
		}
	}
	return false
}

// goneConfirmed reports whether a ResourceNotFound at `at` means the number is gone: it was
// already gone, a 404 one check interval earlier (goneGap, and not more than two: see Decide)
// found it gone too (a number never seen included: one 404 may be transient, and two from
// overlapping runs seconds apart prove no more), or a ReleasePhoneNumber newer than the latest
// claim/update came before the check.
func (r *Record) goneConfirmed(at time.Time, p Policy) bool {
	switch {
	case r.Status == NotFound:
		return true
	case !r.NotFoundAt.IsZero() && at.Sub(r.NotFoundAt) >= r.goneGap(p) && at.Sub(r.NotFoundAt) <= r.goneWithin(p):
		return true
	default:
		rel := r.Release
		return rel != nil && !rel.At.After(at) && rel.Newer(r.Operation)
	}
}

// goneGap is how long after the first 404 another confirms "gone": one schedule period, as far
// as the record knows it (the interval between the first 404 and the check before it), at
// least p.GoneGap (the shortest period allowed) and at most 12 of them (a long outage before
// the 404 must not hold "gone" back for as long).
func (r *Record) goneGap(p Policy) time.Duration {
	return min(max(p.GoneGap(), r.cadence()), 12*p.GoneGap())
}

// goneWithin is how long after the first 404 another still confirms "gone": two intervals
// (uncapped). Later, checks were missed between them, and two 404s that far apart may come
// from two transient spells.
func (r *Record) goneWithin(p Policy) time.Duration {
	return 2 * max(r.goneGap(p), r.cadence())
}

// cadence is the interval between the first 404 and the check before it, 0 when unknown.
func (r *Record) cadence() time.Duration {
	if r.NotFoundAfter.IsZero() || !r.NotFoundAfter.Before(r.NotFoundAt) {
		return 0
	}
	return r.NotFoundAt.Sub(r.NotFoundAfter)
}

// failingOp is the latest Claim/Update known at `at`, nil when none is: the call whose failure
// a FAILED seen at `at` can be. A call up to CallSkew after `at` counts: its eventTime is
// AWS's clock, `at` ours, which may run behind it.
func (r *Record) failingOp(at time.Time) *Operation {
	if op := r.Operation; op.changes() && !op.At.After(at.Add(CallSkew)) {
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
// episode's first FAILED sight by more than CallSkew proves a new claim or update: the
// deadline restarts from it. A call within CallSkew of that sight is the failure's own call,
// its eventTime a little ahead of our clock, not a retry.
func nextEpisode(r *Record, o Observation, p Policy, prevStatus Status, prevSpell time.Time) *Episode {
	e := r.Episode
	op := r.failingOp(o.At)
	chained := e.Open() || retrying(e, prevStatus, prevSpell)
	switch {
	case chained && op.Newer(e.Operation) && op.At.After(e.FailedSince.Add(CallSkew)):
		n := freshEpisode(r, o, p, op)
		n.Retries, n.PreviousDeadline = e.Retries+1, e.Deadline
		return n
	case e.Open():
		tighten(e, r, op, p)
		return e
	case chained:
		// A call CloudTrail delivered late may bound the chain's first failure still: its
		// not-FAILED bound is the one before that failure, not the retry's IN_PROGRESS check.
		boundByOperation(e, r, e.FailedAfter, op, p)
		return chainEpisode(r, o, p, e, prevStatus)
	default:
		return freshEpisode(r, o, p, op)
	}
}

// tighten moves an open episode's deadline earlier where what is known now allows: a
// Claim/Update that CloudTrail delivered late (after the first FAILED sight, as it may by
// minutes, or hours after an outage), later than the last not-FAILED check and not after the
// first FAILED sight, is a lower bound of the failure; and a policy whose window shrank
// bounds the deadline from the episode's own anchor with the new window. It never moves a
// deadline later.
func tighten(e *Episode, r *Record, op *Operation, p Policy) {
	notFailed := r.NotFailedAt
	if e.Retries > 0 {
		// A failed retry's episode: its bounds are the chain's when it kept them, and so is
		// the not-FAILED check before them (the retry's IN_PROGRESS check is later).
		notFailed = e.FailedAfter
	}
	boundByOperation(e, r, notFailed, op, p)
	anchor := e.FailedSince
	switch {
	case e.Basis == BasisOperation && e.Operation != nil:
		anchor = e.Operation.At
	case e.Basis == BasisTransition && !e.FailedAfter.IsZero():
		anchor = e.FailedAfter
	}
	if d := anchor.Add(p.RetryWindow); d.Before(e.Deadline) {
		e.Deadline, e.DeadlineReason = d, ReasonRetryWindow
	}
	if !e.LatestRelease.IsZero() && e.LatestRelease.Before(e.Deadline) {
		e.LatestRelease = e.Deadline
	}
}

// boundByOperation moves the deadline of e to op + window when op is the call of the failure
// e's bounds are about: later than notFailed (the last check that saw the number not FAILED
// before that failure), than the last CLAIMED check, and not after that failure's first
// FAILED sight, e.BoundSince (by more than CallSkew). It never moves a deadline later.
func boundByOperation(e *Episode, r *Record, notFailed time.Time, op *Operation, p Policy) {
	since := e.boundSince()
	if op != nil && op.At.After(notFailed) && op.At.After(r.lastClaimed()) && !op.At.After(since.Add(CallSkew)) {
		// A call stamped a little after the sight (our clock behind AWS's) is still this
		// failure's: the bound is then the sight itself, now a proven one.
		d := earlierOf(op.At, since).Add(p.RetryWindow)
		if d.Before(e.Deadline) || (e.Basis == BasisFirstObservation && !d.After(e.Deadline)) {
			if e.Basis == BasisFirstObservation && e.LatestRelease.IsZero() {
				e.LatestRelease = e.FailedSince.Add(p.RetryWindow)
			}
			if d.Before(e.Deadline) {
				e.DeadlineReason = ReasonOperation
			}
			e.Basis, e.Deadline, e.FailedAfter = BasisOperation, d, time.Time{}
			e.Failure, e.Operation = r.kind(op), op.clone()
		}
	}
}

// freshEpisode bounds the deadline of a FAILED episode that starts at o.At (see Basis): the
// failure came after both the latest not-FAILED check and the failing operation, so the later
// of the two plus the window; first sight + window when neither is known.
func freshEpisode(r *Record, o Observation, p Policy, op *Operation) *Episode {
	e := &Episode{FailedSince: o.At, BoundSince: o.At, Deadline: o.At.Add(p.RetryWindow), Basis: BasisFirstObservation}
	tPrev := r.NotFailedAt
	switch {
	case op != nil && op.At.After(tPrev):
		// A call stamped after the sight is within CallSkew of it (failingOp): AWS's clock
		// ahead of ours. The failure came after both, so the earlier is a lower bound.
		e.Basis, e.Deadline = BasisOperation, earlierOf(op.At, o.At).Add(p.RetryWindow)
	case !tPrev.IsZero():
		e.Basis, e.Deadline, e.FailedAfter = BasisTransition, tPrev.Add(p.RetryWindow), tPrev
	}
	if e.Basis != BasisFirstObservation {
		e.LatestRelease = o.At.Add(p.RetryWindow)
	}
	// The call is named only when it came after the last check that saw the number CLAIMED: a
	// call before that check succeeded (an old claim is never named). It is named as what it
	// is, a call CloudTrail shows before the failure, not as the call that failed: a change
	// made in the Connect admin website after it is not in CloudTrail and may be that call.
	if op != nil && op.At.After(r.lastClaimed()) {
		e.Operation = op.clone()
	} else {
		op = nil
	}
	e.Failure = r.kind(op)
	return e
}

// kind is the kind of the failing call, as far as it is proven: an update when the number was
// seen CLAIMED in this life (a claimed number can only fail on an update), or when CloudTrail
// shows an UpdatePhoneNumber before the failure (the number was claimed by then: whatever
// failed after it is an update, or that update itself). A ClaimPhoneNumber before it proves
// nothing: the claim may have succeeded and a change in the admin website failed after it.
func (r *Record) kind(op *Operation) Failure {
	if !r.lastClaimed().IsZero() || (op != nil && op.Name == OpUpdate) {
		return FailureUpdate
	}
	return FailureUnknown
}

// boundSince is the first FAILED sight of the failure e's deadline bounds are about.
func (e *Episode) boundSince() time.Time {
	if e.BoundSince.IsZero() {
		return e.FailedSince
	}
	return e.BoundSince
}

// lastClaimed is the latest check that saw the number CLAIMED (see decide for records written
// before it was kept).
func (r *Record) lastClaimed() time.Time { return r.LastClaimedAt }

// chainEpisode is a new episode of the chain whose last episode is prev: a retry that failed
// too. Whether Connect restarts its window on a failed retry is not documented, so the
// deadline stays the chain's, unless the bound from this episode alone is earlier (a policy
// with a shorter window).
func chainEpisode(r *Record, o Observation, p Policy, prev *Episode, prevStatus Status) *Episode {
	e := freshEpisode(r, o, p, nil)
	if !e.Deadline.Before(prev.Deadline) {
		e.Deadline, e.Basis, e.FailedAfter, e.BoundSince = prev.Deadline, prev.Basis, prev.FailedAfter, prev.boundSince()
		e.Failure, e.Operation = prev.Failure, prev.Operation.clone()
	}
	e.LatestRelease = time.Time{}
	if latest := o.At.Add(p.RetryWindow); latest.After(e.Deadline) {
		e.LatestRelease = latest
	}
	e.Retries = prev.Retries + 1
	return e
}

// failedNotes is what an open FAILED episode owes at o.At: EXPIRED once at or past the
// deadline (alone: a FAILED beside it, first sight past the deadline, would tell people to
// retry before a deadline already behind); before it, FAILED until announced, then DEADLINE
// when the deadline moved earlier than the one announced, else the nearest reminder of the
// deadline in force that came due since the last announcement of that deadline (earlier ones
// are covered by it, so a late run never sends a burst).
func failedNotes(r *Record, o Observation, p Policy) []Notification {
	e, now := r.Episode, o.At
	if !now.Before(e.Deadline) {
		if e.ExpiredSentAt.IsZero() {
			return []Notification{episodeNote(EventExpired, r, o)}
		}
		return nil
	}
	if !e.Announced() {
		return []Notification{episodeNote(EventFailed, r, o)} // it states the deadline and the time left
	}
	if e.movedEarlier() {
		// It states the new deadline and the time left: reminders due before it are covered.
		n := episodeNote(EventDeadline, r, o)
		n.PreviousDeadline, n.Reason = e.AnnouncedDeadline, e.DeadlineReason
		return []Notification{n}
	}
	last := e.FailedSentAt
	for _, t := range []time.Time{e.RemindedAt, e.DeadlineSentAt} {
		if t.After(last) {
			last = t
		}
	}
	// The due reminder nearest the deadline (smallest offset); the others due are covered by it.
	var due time.Duration
	for _, off := range p.Reminders {
		at := e.Deadline.Add(-off)
		if at.After(last) && !at.After(now) && (due == 0 || off < due) {
			due = off
		}
	}
	if due == 0 {
		return nil
	}
	n := episodeNote(EventReminder, r, o)
	n.Reminder = due
	return []Notification{n}
}

// movedEarlier reports whether the deadline is earlier than the one last announced, so that
// DEADLINE is owed. A record from before AnnouncedDeadline was kept owes none.
func (e *Episode) movedEarlier() bool {
	return !e.FailedSentAt.IsZero() && e.ExpiredSentAt.IsZero() && !e.AnnouncedDeadline.IsZero() &&
		e.Deadline.Before(e.AnnouncedDeadline)
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

// notificationID is n's stable identity, made of its content: the number, the event, the start
// of the episode (or IN_PROGRESS spell) it is about, a reminder's offset, and the deadline a
// FAILED, REMINDER, DEADLINE or EXPIRED states. Deciding the same notification again gives the
// same ID; a notification that says anything else (a deadline that moved included) has
// another, so that a consumer that drops repeats by ID never drops a correction.
func notificationID(n Notification) string {
	since := n.FailedSince
	if n.Event == EventStuck {
		since = n.InProgressSince
	}
	id := n.Number.ID + "/" + string(n.Event) + "/" + stamp(since)
	if n.Event == EventReminder {
		id += "/" + FormatOffset(n.Reminder)
	}
	switch n.Event {
	case EventFailed, EventReminder, EventDeadline, EventExpired:
		id += "/" + stamp(n.RetryDeadline)
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
	case EventFailed, EventReminder, EventExpired, EventDeadline:
		e := r.Episode
		if e == nil || !e.FailedSince.Equal(n.FailedSince) {
			return // a different episode: nothing to mark
		}
		switch n.Event {
		case EventFailed:
			e.FailedSentAt = n.ObservedAt
		case EventReminder:
			e.RemindedAt = n.ObservedAt
		case EventDeadline:
			e.DeadlineSentAt = n.ObservedAt
		default:
			e.ExpiredSentAt = n.ObservedAt
		}
		if n.Event != EventExpired {
			e.AnnouncedDeadline = n.RetryDeadline // what people were told last
		}
	}
}
