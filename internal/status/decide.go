package status

import (
	"time"
)

// Decide is the whole notification policy: given the previous record of a number (nil if it was
// never seen), one observation of it and the policy, it returns the next record and the
// notifications now due. It never marks anything sent: call MarkSent for each notification
// once it was delivered, so that an undelivered one is decided again by the next run, and a
// delivered one never is.
func Decide(prev *Record, o Observation, p Policy) (Record, []Notification) {
	var r Record
	if prev != nil {
		r = prev.clone()
	}
	now := o.At
	prevStatus, prevSpell := r.Status, r.InProgressSince
	if o.Status != NotFound || r.ID == "" {
		r.Number = o.Number // a vanished number keeps the description it had
	}
	r.Status, r.StatusMessage, r.CheckedAt = o.Status, o.Message, now

	if o.Status != InProgress {
		r.InProgressSince, r.StuckSentAt = time.Time{}, time.Time{}
	}
	if o.Status != Failed {
		if r.Episode.Open() {
			r.Episode.EndedAt = now
		}
	}
	if prevStatus == NotFound && o.Status != NotFound {
		// Back after it was gone: a new claim of the number, so whatever its old episode
		// still owed (EXPIRED, RECOVERED) is no longer true.
		r.Episode = nil
	}

	var out []Notification
	switch o.Status {
	case Failed:
		if !r.Episode.Open() {
			r.Episode = newEpisode(&r, now, p)
		}
		out = failedNotes(&r, o, p)
	case InProgress:
		if prevStatus != InProgress || r.InProgressSince.IsZero() {
			r.InProgressSince, r.StuckSentAt = now, time.Time{}
		}
		if r.StuckSentAt.IsZero() && now.Sub(r.InProgressSince) >= p.StuckAfter {
			n := note(EventStuck, &r, o)
			n.InProgressSince = r.InProgressSince
			out = append(out, n)
		}
	case Claimed:
		switch {
		case r.Episode == nil:
		case p.NotifyRecovery && r.Episode.Announced():
			out = append(out, episodeNote(EventRecovered, &r, o))
		default:
			r.Episode = nil // nothing was announced, or recovery is not to be announced
		}
	case NotFound:
		// Gone while FAILED (or during the retry that followed it): presumably released, so
		// EXPIRED. Gone after the number was seen CLAIMED again is a release by the owner, not
		// an expiry: the episode is dropped, as a RECOVERED still owed for it can no longer be
		// true, and the record can retire.
		if e := r.Episode; e != nil && e.ExpiredSentAt.IsZero() {
			if vanishedFailed(e, prevStatus, prevSpell) {
				out = append(out, episodeNote(EventExpired, &r, o))
			} else {
				r.Episode = nil
			}
		}
	}
	if o.Status != Failed {
		r.NotFailedAt = now
	}
	return r, out
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
		// The retry began at the very check that ended the episode; a spell that began later
		// followed a CLAIMED check, i.e. a recovery.
		return prevSpell.Equal(e.EndedAt)
	default:
		return false
	}
}

// newEpisode bounds the deadline of a FAILED episode that starts at now (see Basis).
func newEpisode(r *Record, now time.Time, p Policy) *Episode {
	if !r.NotFailedAt.IsZero() {
		return &Episode{FailedSince: now, Deadline: r.NotFailedAt.Add(p.RetryWindow), Basis: BasisTransition, FailedAfter: r.NotFailedAt}
	}
	return &Episode{FailedSince: now, Deadline: now.Add(p.RetryWindow), Basis: BasisFirstObservation}
}

// failedNotes is what an open FAILED episode owes at o.At: FAILED until delivered; EXPIRED once
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
	n := note(ev, r, o)
	n.FailedSince, n.RetryDeadline, n.Basis = r.Episode.FailedSince, r.Episode.Deadline, r.Episode.Basis
	n.FailedAfter = r.Episode.FailedAfter
	return n
}

// MarkSent records in r that n was delivered, so that Decide does not produce it again.
func (r *Record) MarkSent(n Notification) {
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
