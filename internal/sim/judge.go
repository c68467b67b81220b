package sim

import (
	"fmt"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// The classes of violation, one per invariant of issue 17.
const (
	// Late: a deadline with basis transition or operation later than the true release (beyond
	// the forward skew of the world's clocks, which any stamp may carry).
	Late = "late-deadline"
	// MissedBound: basis first-observation although a lower bound existed: a saved check that
	// saw the number not FAILED before the failure, or the failing call shown by CloudTrail.
	MissedBound = "missed-bound"
	// Unannounced: the deadline in force (the state's) is earlier than the one last delivered,
	// and no DEADLINE (or FAILED) stating it was ever attempted.
	Unannounced = "deadline-unannounced"
	// WrongCall: the named call is not what the words say: a call CloudTrail showed for the
	// number before the failure, not proven successful by a saved CLAIMED check after it.
	// (Until issue 17 closed, a named call had to be the failing call itself, which nothing
	// can prove while admin-website calls leave no trace: the words now say what is known.)
	WrongCall = "wrong-call"
	// WrongKind: the failure kind (claim/update) is not the true failing call's.
	WrongKind = "wrong-kind"
	// Duplicate: one true fact (a failure's FAILED, a chain's EXPIRED or RECOVERED, one
	// reminder of one deadline) delivered under two notification IDs.
	Duplicate = "duplicate"
	// Copies: more copies of one notification ID than unanswered attempts explain.
	Copies = "duplicate-copy"
	// FalseExpiry: EXPIRED saying the number is gone (status NOT_FOUND) while it is not.
	FalseExpiry = "false-expiry"
	// Loss: a fault-free run saw a number FAILED, and its chain's FAILED (or EXPIRED) was
	// never delivered.
	Loss = "loss"
	// Unsendable: a notification SNS cannot accept as rendered (over 256 KiB, say, from an
	// unbounded CloudTrail value): refused run after run.
	Unsendable = "unsendable"
	// FailedWithExpired: one run delivers FAILED and EXPIRED of one failure (a first sight past
	// the deadline): two messages, the first saying "retry before" a deadline already behind.
	FailedWithExpired = "failed-with-expired"
	// NoFailure: an episode notification about a number that never failed.
	NoFailure = "no-such-failure"
)

// Violation is one broken invariant.
type Violation struct {
	Class  string
	Seed   uint64
	Run    int
	Number string
	Detail string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: seed %d run %d number %s: %s", v.Class, v.Seed, v.Run, v.Number, v.Detail)
}

// Judge holds what a world's runs did and what the truth says about it.
type Judge struct {
	w          *World
	Violations []Violation
	Judged     int // notifications delivered and judged
	Runs       int

	bounds     map[string][]bound // saved not-FAILED checks, by number
	copies     map[string]int     // deliveries, by notification ID
	unanswered map[string]int     // attempts that may have delivered unseen, by notification ID
	facts      map[string]map[string]bool
	announced  map[chainKey]time.Time // the deadline last delivered for a chain
	stated     map[chainKey]map[time.Time]bool
	told       map[chainKey]bool // FAILED or EXPIRED delivered
	once       map[string]bool   // violations reported once per key
	runIDs     map[*run][]string // IDs delivered by a run (unanswered if it dies)
	rendered   map[string]string // why SNS refuses a notification as rendered, by ID
	runEvents  map[string]bool   // run/number/failure/event delivered
	cur        *run
}

type bound struct {
	at      time.Time // the true time of the check
	seq     int       // the store write that saved it
	claimed bool      // it saw CLAIMED (else IN_PROGRESS)
}

type chainKey struct {
	id    string
	chain int
}

func newJudge(w *World) *Judge {
	return &Judge{w: w, bounds: map[string][]bound{}, copies: map[string]int{}, unanswered: map[string]int{},
		facts: map[string]map[string]bool{}, announced: map[chainKey]time.Time{},
		stated: map[chainKey]map[time.Time]bool{}, told: map[chainKey]bool{}, once: map[string]bool{},
		runIDs: map[*run][]string{}, rendered: map[string]string{}, runEvents: map[string]bool{}}
}

func (j *Judge) violate(class string, r *run, id, format string, args ...any) {
	j.Violations = append(j.Violations, Violation{Class: class, Seed: j.w.Seed, Run: r.idx, Number: id,
		Detail: fmt.Sprintf(format, args...)})
	if j.w.log != nil {
		fmt.Fprintf(j.w.log, "  VIOLATION %s\n", j.Violations[len(j.Violations)-1])
	}
}

// saved notes a record a run wrote: a check that saw the number not FAILED is a lower bound of
// any later failure, for every run that reads the state after it.
func (j *Judge) saved(r *run, rec status.Record) {
	st, ok := r.answered[rec.ID]
	if ok && (st == status.Claimed || st == status.InProgress) && rec.Status == st {
		j.bounds[rec.ID] = append(j.bounds[rec.ID], bound{at: r.at, seq: r.w.st.seq, claimed: st == status.Claimed})
	}
}

func episodeEvent(e status.Event) bool {
	switch e {
	case status.EventFailed, status.EventReminder, status.EventExpired, status.EventRecovered, eventDeadline:
		return true
	}
	return false
}

// eventDeadline is DESIGN.md's DEADLINE notification (named here so that the world compiles
// before and after the domain has it).
const eventDeadline = status.Event("DEADLINE")

// statesDeadline: the events whose deadline people act on.
func statesDeadline(e status.Event) bool {
	return e == status.EventFailed || e == status.EventReminder || e == status.EventExpired || e == eventDeadline
}

// attempted notes one publish and, when SNS took it, judges the delivery.
func (j *Judge) attempted(r *run, n status.Notification, mode string) {
	num := r.w.byID[n.Number.ID]
	if num != nil && (n.Event == eventDeadline || n.Event == status.EventFailed) {
		if fi := num.at(r.at).failureIdx; fi >= 0 {
			ck := chainKey{num.id, num.failures[fi].chain}
			if j.stated[ck] == nil {
				j.stated[ck] = map[time.Time]bool{}
			}
			j.stated[ck][n.RetryDeadline] = true
		}
	}
	if mode == snsOK || mode == snsLostDelivered {
		j.copies[n.ID]++
		if j.copies[n.ID] > 1+j.unanswered[n.ID] {
			j.violate(Copies, r, n.Number.ID, "%s %s delivered %d times, %d unanswered attempts before", n.Event, n.ID,
				j.copies[n.ID], j.unanswered[n.ID])
		}
		j.runIDs[r] = append(j.runIDs[r], n.ID)
		j.judge(r, num, n)
	}
	if mode == snsLostDelivered || mode == snsLostDropped {
		j.unanswered[n.ID]++
	}
}

// judge checks one delivered notification against the truth at its run's true time.
func (j *Judge) judge(r *run, num *number, n status.Notification) {
	j.Judged++
	id := n.Number.ID
	if num == nil {
		j.violate(NoFailure, r, id, "%s about a number the world does not have", n.Event)
		return
	}
	tr := num.at(r.at)
	if n.Event == status.EventStuck {
		j.fact(r, id, fmt.Sprintf("S/%d", tr.callIdx), n)
		return
	}
	if !episodeEvent(n.Event) {
		return
	}
	fi := tr.failureIdx
	if fi < 0 {
		j.violate(NoFailure, r, id, "%s (%s) but the number never failed", n.Event, n.ID)
		return
	}
	f := num.failures[fi]
	ck := chainKey{id, f.chain}
	w := j.w

	// Never later than the real release, where the basis claims a lower bound.
	if statesDeadline(n.Event) && (n.Basis == status.BasisTransition || n.Basis == status.BasisOperation) {
		rel := num.release(fi, w.p.window)
		if ahead, _ := w.skews(); n.RetryDeadline.After(rel.Add(ahead)) {
			j.violate(Late, r, id, "%s deadline %s (%s) is %s after the true release %s (failure %d at %s)", n.Event,
				stamp(n.RetryDeadline), n.Basis, n.RetryDeadline.Sub(rel), stamp(rel), fi, stamp(f.at))
		}
	}
	// No missed bound.
	if statesDeadline(n.Event) && n.Basis == status.BasisFirstObservation {
		if why := j.boundExisted(r, num, fi); why != "" {
			j.violate(MissedBound, r, id, "%s deadline %s basis first-observation, but %s", n.Event,
				stamp(n.RetryDeadline), why)
		}
	}
	// True words. The kind is a failing call's of this chain, or unknown. A named call is one
	// CloudTrail shows before the failure ("the failure came after it"), never one a saved
	// CLAIMED check proves succeeded: DESIGN.md names no call older than the last CLAIMED
	// check. The words do not say it is the call that failed (an admin-website call after it
	// may be), so a call of the number before the failure is true.
	kinds := map[status.Failure]bool{status.FailureUnknown: true}
	calls := map[string]bool{}
	for k := fi; k >= 0 && num.failures[k].chain == f.chain; k-- {
		c := num.calls[num.failures[k].call]
		calls[c.eventID] = true
		kinds[failureKind(c.name)] = true
	}
	if op := n.Operation; op != nil && !calls[op.EventID] {
		first := num.chainStart(fi)
		for _, b := range j.bounds[id] {
			if b.claimed && b.at.After(op.At) && b.at.Before(num.failures[first].at) && b.seq <= r.readSeq {
				j.violate(WrongCall, r, id, "%s names %s %s at %s by %s, which a saved check at %s saw succeed",
					n.Event, op.Name, op.EventID, stamp(op.At), op.By, stamp(b.at))
				break
			}
		}
		c := num.call(op.EventID)
		switch {
		case c == nil || c.website:
			j.violate(WrongCall, r, id, "%s names %s %s, which CloudTrail never showed for this number", n.Event,
				op.Name, op.EventID)
		case c.at.After(f.at):
			j.violate(WrongCall, r, id, "%s names %s %s at %s, after failure %d at %s: the failure did not come after it",
				n.Event, op.Name, op.EventID, stamp(c.at), fi, stamp(f.at))
		}
	}
	if n.Failure != "" && !kinds[n.Failure] {
		j.violate(WrongKind, r, id, "%s says %q; the failing calls of failure %d's chain were not", n.Event, n.Failure, fi)
	}
	// No false expiry.
	if n.Event == status.EventExpired && n.Status == status.NotFound && tr.exists {
		j.violate(FalseExpiry, r, id, "EXPIRED (number gone) while Connect has it %s", tr.status)
	}
	// No duplicates: one ID per fact.
	switch n.Event {
	case status.EventFailed:
		// A FAILED is about the failure it saw at its episode's first sight, which may be an
		// earlier one than the run's (a FAILED delivered late, after a retry that failed
		// unseen between two checks: seed 1043003). The sight's stamp may lie behind the true
		// time by the slowest clock's skew (a laptop 20 s slow saw a failure 1 s "before" it
		// happened: seed 1057223).
		about := fi
		_, behind := w.skews()
		if sf := num.at(n.FailedSince.Add(behind)).failureIdx; sf >= 0 && sf < fi {
			about = sf
		}
		j.fact(r, id, fmt.Sprintf("F/%d", about), n)
	case status.EventExpired:
		j.fact(r, id, fmt.Sprintf("E/%d/%s", fi, stamp(n.RetryDeadline)), n)
	case status.EventRecovered:
		j.fact(r, id, fmt.Sprintf("R/%d", f.chain), n)
	case status.EventReminder:
		j.fact(r, id, fmt.Sprintf("M/%d/%s/%s", fi, n.Reminder, stamp(n.RetryDeadline)), n)
	case eventDeadline:
		j.fact(r, id, fmt.Sprintf("D/%d/%s", f.chain, stamp(n.RetryDeadline)), n)
	}
	if n.Event == status.EventFailed || n.Event == status.EventExpired {
		key := fmt.Sprintf("%d/%s/%d/", r.idx, id, fi)
		j.runEvents[key+string(n.Event)] = true
		if j.runEvents[key+string(status.EventFailed)] && j.runEvents[key+string(status.EventExpired)] {
			j.violate(FailedWithExpired, r, id, "FAILED and EXPIRED of failure %d in one run", fi)
		}
	}
	if statesDeadline(n.Event) {
		j.announced[ck] = n.RetryDeadline
	}
	if n.Event == status.EventFailed || n.Event == status.EventExpired {
		j.told[ck] = true
	}
}

// fact records that n states one fact; a second notification ID for it is a duplicate.
func (j *Judge) fact(r *run, id, key string, n status.Notification) {
	key = id + "/" + key
	ids := j.facts[key]
	if ids == nil {
		ids = map[string]bool{}
		j.facts[key] = ids
	}
	if ids[n.ID] {
		return
	}
	// A new ID for a fact already told is a duplicate, unless each earlier one went out
	// unanswered: the monitor could not know it was delivered, and a duplicate is better than
	// a loss (say, a FAILED sent again with a deadline a late CloudTrail event corrected).
	for prev := range ids {
		if prev != "reported" && j.unanswered[prev] == 0 && !ids["reported"] {
			ids["reported"] = true
			j.violate(Duplicate, r, id, "%s %s: a second notification ID for one fact (%s), after %s was confirmed",
				n.Event, n.ID, key, prev)
			break
		}
	}
	ids[n.ID] = true
}

// boundExisted says which lower bound of failure fi existed for run r, "" if none did. A
// failed retry keeps its chain's deadline (DESIGN.md), so the bound that counts is one of the
// chain's first failure.
func (j *Judge) boundExisted(r *run, num *number, fi int) string {
	fi = num.chainStart(fi)
	f := num.failures[fi]
	for _, b := range j.bounds[num.id] {
		if b.at.Before(f.at) && b.seq <= r.readSeq && r.readSeq >= 0 {
			return fmt.Sprintf("a check at %s saw it not FAILED before the failure at %s", stamp(b.at), stamp(f.at))
		}
	}
	c := num.calls[f.call]
	if !c.appear.IsZero() && !c.appear.After(r.at) && !c.at.Before(r.at.Add(-j.w.p.window)) {
		return fmt.Sprintf("CloudTrail showed its %s %s at %s since %s", c.name, c.eventID, stamp(c.at), stamp(c.appear))
	}
	return ""
}

// afterRun checks what the state says once a run is over: a deadline in force earlier than the
// one announced must have been announced; a fault-free run must have delivered what it owes.
func (j *Judge) afterRun(r *run, clean bool) {
	j.Runs++
	if r.died {
		// Deliveries of a run that died before marking them are unanswered attempts: the next
		// run may send them again.
		for _, id := range j.runIDs[r] {
			j.unanswered[id]++
		}
	}
	delete(j.runIDs, r)
	for _, num := range j.w.numbers {
		rec, ok := j.w.st.recs[num.id]
		tr := num.at(r.at)
		if !ok || rec.Episode == nil || !rec.Episode.Open() || rec.Status != status.Failed ||
			tr.status != status.Failed || tr.failureIdx < 0 {
			continue
		}
		ck := chainKey{num.id, num.failures[tr.failureIdx].chain}
		d := rec.Episode.Deadline
		if la, ok := j.announced[ck]; ok && d.Before(la) && !j.stated[ck][d] {
			key := fmt.Sprintf("U/%s/%d/%s", num.id, ck.chain, stamp(d))
			if !j.once[key] {
				j.once[key] = true
				j.violate(Unannounced, r, num.id, "the state's deadline %s (%s) is %s earlier than the one announced, %s, "+
					"and no DEADLINE stated it", stamp(d), rec.Episode.Basis, la.Sub(d), stamp(la))
			}
		}
	}
	if !clean {
		return
	}
	for id, st := range r.answered {
		num := j.w.byID[id]
		fi := num.at(r.at).failureIdx
		if st != status.Failed || fi < 0 {
			continue
		}
		ck := chainKey{id, num.failures[fi].chain}
		key := fmt.Sprintf("L/%s/%d", id, ck.chain)
		if !j.told[ck] && !j.once[key] {
			j.once[key] = true
			j.violate(Loss, r, id, "a fault-free run saw it FAILED (failure %d at %s) and its FAILED was never delivered",
				fi, stamp(num.failures[fi].at))
		}
	}
}

// skews is how far a stamp can lie from the truth: ahead of it (the forward skew of the
// world's clocks) and behind it (the backward skew).
func (w *World) skews() (ahead, behind time.Duration) {
	ahead, behind = max(0, w.p.lambdaSkew), max(0, -w.p.lambdaSkew)
	if w.p.laptopRuns > 0 {
		ahead, behind = max(ahead, w.p.laptopSkew), max(behind, -w.p.laptopSkew)
	}
	return ahead, behind
}

func failureKind(name string) status.Failure {
	if name == status.OpClaim {
		return status.FailureClaim
	}
	return status.FailureUpdate
}

func stamp(t time.Time) string { return t.UTC().Format("01-02T15:04:05") }
