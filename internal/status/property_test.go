package status

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDecideProperties plays many random histories of one number through Decide, MarkSent and
// the delivery rule as the monitor uses them: statuses at increasing random times with
// checks stamped earlier now and then, CloudTrail operations (the failing call, retries during
// a FAILED spell, successful updates, releases) revealed late, transient and real 404s, policy
// changes between runs, and a publisher that is up, down, flaky or unconfirmed (accepted but its
// answer lost). After every run it checks: no notification delivered again once confirmed,
// and no more copies of one than it had unanswered attempts; none lost while its condition holds and the publisher
// is up; no deadline later than the true failure + window, nor later than a deadline stated
// earlier in the same chain unless a newer call proved a new claim or update. A failure names
// its seed and step; `go test -run 'TestDecideProperties/seed=17$'` replays it.
func TestDecideProperties(t *testing.T) {
	for seed := uint64(1); seed <= 500; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			h := newHistory(seed)
			for h.step = 0; h.step < h.steps; h.step++ {
				if err := h.check(); err != nil {
					t.Fatalf("seed %d, step %d, policy %+v: %v", seed, h.step, h.policy, err)
				}
			}
		})
	}
}

// delivery is how the SNS publisher behaves during one run.
type delivery int

const (
	up          delivery = iota // every notification is delivered and confirmed
	down                        // none is
	flaky                       // each is delivered and confirmed, or refused, at random
	unconfirmed                 // each is delivered, but the answer is lost
)

// chain is the model's FAILED chain: FAILED spells joined by retries (IN_PROGRESS, transient
// 404s), ended by CLAIMED or a real gone.
type chain struct {
	windowStart time.Time   // the true failure the release is counted from
	restartedAt time.Time   // the latest call that proved a new claim/update (zero: none)
	deadlines   []time.Time // deadlines stated in this chain since windowStart was last set
	firstSight  time.Time   // the chain's first FAILED check
	calls       int         // calls since firstSight
	lastCall    time.Time   // the latest of them
}

// history is one random sequence of checks of one number, with the model's view of it.
type history struct {
	rng         *rand.Rand
	policy      Policy
	maxWindow   time.Duration
	step, steps int

	rec  *Record
	now  time.Time
	last Status // the latest real (not transient) status; "" before the first

	lastNotFail time.Time  // latest check that saw the number there and not FAILED
	pending     *Operation // a call that happened but CloudTrail has not shown yet
	lastCall    time.Time  // the latest call that happened, shown or not
	chain       *chain     // nil when the number is in no FAILED chain
	goneChecks  int        // consecutive 404s

	delivered   map[string]int  // deliveries by notification ID
	unconfirmed map[string]int  // unanswered attempts (published, no confirmation) by ID
	confirmed   map[string]bool // IDs delivered and marked sent
}

func newHistory(seed uint64) *history {
	rng := rand.New(rand.NewPCG(seed, 0x70686f6e65))
	h := &history{rng: rng, steps: 60 + rng.IntN(80), now: t0,
		delivered: map[string]int{}, unconfirmed: map[string]int{}, confirmed: map[string]bool{}}
	h.setPolicy(randomPolicy(rng))
	return h
}

func (h *history) setPolicy(p Policy) {
	h.policy = p
	h.maxWindow = max(h.maxWindow, p.RetryWindow)
}

// randomPolicy is DESIGN.md's defaults with random reminders and recovery setting, sometimes in
// compressed time (a two-minute window) as demos and end-to-end tests run it.
func randomPolicy(rng *rand.Rand) Policy {
	p := Policy{RetryWindow: 24 * time.Hour, StuckAfter: 30 * time.Minute, NotifyRecovery: rng.IntN(4) != 0}
	switch rng.IntN(4) {
	case 0:
		p.Reminders = []time.Duration{6 * time.Hour, time.Hour}
	case 1:
		p.Reminders = []time.Duration{time.Hour, 12 * time.Hour, 6 * time.Hour}
	case 2:
		p.Reminders = []time.Duration{time.Hour}
	}
	if rng.IntN(3) == 0 {
		p.RetryWindow, p.StuckAfter = 2*time.Minute, 20*time.Second
		for i, r := range p.Reminders {
			p.Reminders[i] = r / 720
		}
	}
	return p
}

// gap is the time to the next check: mostly one or a few schedule intervals (5 minutes of a
// one-day window), sometimes hours, now and then longer than the whole window.
func (h *history) gap() time.Duration {
	unit := h.policy.RetryWindow / 288
	switch n := h.rng.IntN(20); {
	case n < 12:
		return unit * time.Duration(1+h.rng.IntN(3))
	case n < 18:
		return unit * time.Duration(1+h.rng.IntN(72))
	default:
		return unit * time.Duration(1+h.rng.IntN(400))
	}
}

// status is the next check's status: statuses persist for a while, then change at random.
func (h *history) status() Status {
	if h.last != "" && h.rng.IntN(10) < 6 {
		return h.last
	}
	all := []Status{Claimed, Claimed, InProgress, Failed, Failed, NotFound}
	return all[h.rng.IntN(len(all))]
}

// between is a random instant in (a, b].
func (h *history) between(a, b time.Time) time.Time {
	return a.Add(1 + time.Duration(h.rng.Int64N(int64(b.Sub(a)))))
}

// check runs one check and checks everything that run decided and delivered.
func (h *history) check() error {
	if h.rng.IntN(25) == 0 {
		h.changePolicy()
	}
	if h.rec != nil && h.rng.IntN(12) == 0 {
		return h.stale()
	}
	prevNow := h.now
	h.now = h.now.Add(h.gap())
	st := h.status()
	o := Observation{Number: testNumber, Status: st, Message: "m", At: h.now}
	if st == NotFound {
		o = Gone(testNumber, h.now)
	}
	h.operations(&o, prevNow)

	mode := []delivery{up, up, up, up, down, flaky, unconfirmed}[h.rng.IntN(7)]
	before := h.snapshot()
	next, notes := Decide(h.rec, o, h.policy)
	if h.rec != nil && !reflect.DeepEqual(*h.rec, before) {
		return fmt.Errorf("decide changed its input record")
	}
	h.model(st, o)
	for _, n := range notes {
		if err := h.allowed(n, o, notes); err != nil {
			return fmt.Errorf("%s %s decided at %v (status %s): %w", n.Event, n.ID, h.now, st, err)
		}
	}
	if err := h.publish(&next, notes, mode); err != nil {
		return err
	}
	if err := h.owed(st, mode, &next); err != nil {
		return err
	}
	if st != NotFound {
		h.last = st
	}
	h.rec = &next
	return nil
}

// snapshot is a deep copy of the record, to tell whether Decide changed it.
func (h *history) snapshot() Record {
	if h.rec == nil {
		return Record{}
	}
	return h.rec.clone()
}

// changePolicy changes reminders, recovery or the window between runs, as a redeploy does.
func (h *history) changePolicy() {
	p := randomPolicy(h.rng)
	if h.rng.IntN(2) == 0 {
		p.RetryWindow, p.StuckAfter = h.policy.RetryWindow, h.policy.StuckAfter // reminders and recovery only
		p.Reminders = slices.DeleteFunc(p.Reminders, func(d time.Duration) bool { return d >= p.RetryWindow })
	}
	h.setPolicy(p)
}

// stale decides a check stamped before the record's last one: it must change and send nothing.
func (h *history) stale() error {
	at := h.rec.CheckedAt.Add(-time.Duration(1 + h.rng.Int64N(int64(h.policy.RetryWindow))))
	st := []Status{Claimed, InProgress, Failed, NotFound}[h.rng.IntN(4)]
	o := Observation{Number: testNumber, Status: st, At: at, Operation: &Operation{Name: OpUpdate, At: at, EventID: "stale"}}
	next, notes := Decide(h.rec, o, h.policy)
	if len(notes) != 0 || !reflect.DeepEqual(next, *h.rec) {
		return fmt.Errorf("check stamped %v, before the last check %v: sent %v, record changed: %v",
			at, h.rec.CheckedAt, notes, !reflect.DeepEqual(next, *h.rec))
	}
	return nil
}

// operations adds CloudTrail's view to o: calls that happened in (prev, now], shown to Decide
// at this check or, half the time, one check later (delivery delay).
func (h *history) operations(o *Observation, prev time.Time) {
	var happened *Operation
	if h.rng.IntN(3) == 0 {
		name := []string{OpClaim, OpUpdate}[h.rng.IntN(2)]
		happened = &Operation{Name: name, At: h.between(prev, h.now), EventID: fmt.Sprintf("op-%d", h.step)}
	}
	if o.Status == NotFound && happened == nil && h.rng.IntN(3) == 0 {
		o.Release = &Operation{Name: OpRelease, At: h.between(prev, h.now), EventID: fmt.Sprintf("rel-%d", h.step)}
	}
	if happened != nil {
		h.lastCall = happened.At
		h.noteCall(happened, o.Status)
	}
	shown := h.pending
	h.pending = nil
	if happened != nil {
		if h.rng.IntN(2) == 0 {
			h.pending = happened
		} else if happened.Newer(shown) {
			shown = happened
		}
	}
	o.Operation = shown
}

// noteCall updates the truth with a call at op.At: a call after the chain's first FAILED sight
// is a new claim/update, and its failure (after the call, and after any later not-FAILED
// check) restarts the window.
func (h *history) noteCall(op *Operation, st Status) {
	if c := h.chain; c != nil && op.At.After(c.firstSight) {
		c.restartedAt, c.lastCall = op.At, op.At
		c.calls++
		if st == Failed {
			h.restart(c)
		}
	}
}

// restart sets the chain's window from a failure of its latest call, seen FAILED now.
func (h *history) restart(c *chain) {
	after := c.restartedAt
	if h.lastNotFail.After(after) {
		after = h.lastNotFail
	}
	c.windowStart, c.deadlines, c.restartedAt = h.between(after, h.now), nil, time.Time{}
}

// model updates the truth with the check's status, after its call (if any) was noted.
func (h *history) model(st Status, o Observation) {
	if st == NotFound {
		h.goneChecks++
		// Really gone only with a release: without one, 404s (even confirmed ones) may have
		// been transient, and a number seen again goes on with its chain.
		if o.Release != nil {
			// Seen again, it was claimed again after this check.
			h.chain, h.lastNotFail, h.last = nil, h.now, NotFound
		}
		return
	}
	h.goneChecks = 0
	switch st {
	case Failed:
		if c := h.chain; c != nil && !c.restartedAt.IsZero() {
			h.restart(c)
		}
		if h.chain == nil || h.last != Failed && h.last != InProgress {
			// A new chain: the failure came after the last not-FAILED check and after the
			// failing call when CloudTrail shows one.
			after := h.lastNotFail
			if h.lastCall.After(after) {
				after = h.lastCall
			}
			start := h.now
			if !after.IsZero() {
				start = h.between(after, h.now)
			}
			h.chain = &chain{windowStart: start, firstSight: h.now}
		}
	case Claimed:
		h.chain = nil
	case InProgress:
		// Still working on the latest call: its failure, if it fails, comes after this check.
		if c := h.chain; c != nil && !c.lastCall.IsZero() {
			c.restartedAt = c.lastCall
		}
	}
	if st != Failed {
		h.lastNotFail = h.now
	}
}

// allowed checks one decided notification against the model.
func (h *history) allowed(n Notification, o Observation, batch []Notification) error {
	p := h.policy
	switch {
	case !n.ObservedAt.Equal(o.At) || n.Status != o.Status:
		return fmt.Errorf("carries observed %v status %q", n.ObservedAt, n.Status)
	case n.ID == "":
		return fmt.Errorf("no ID")
	case h.confirmed[n.ID]:
		return fmt.Errorf("decided again after it was delivered and marked")
	}
	switch n.Event {
	case EventStuck:
		if o.Status != InProgress || o.At.Sub(n.InProgressSince) < p.StuckAfter {
			return fmt.Errorf("status %s, %v into the spell", o.Status, o.At.Sub(n.InProgressSince))
		}
		return nil
	case EventFailed:
		if o.Status != Failed {
			return fmt.Errorf("number not FAILED")
		}
		if h.confirmedAny(testNumber.ID + "/" + string(EventExpired) + "/" + stamp(n.FailedSince)) {
			return fmt.Errorf("FAILED after EXPIRED of the same episode")
		}
		if slices.ContainsFunc(batch, func(b Notification) bool { return b.Event != EventFailed }) {
			return fmt.Errorf("FAILED together with another notification")
		}
	case EventDeadline:
		switch {
		case o.Status != Failed || !o.At.Before(n.RetryDeadline):
			return fmt.Errorf("DEADLINE with status %s, deadline %v", o.Status, n.RetryDeadline)
		case !n.RetryDeadline.Before(n.PreviousDeadline):
			return fmt.Errorf("DEADLINE %v not earlier than the previous %v", n.RetryDeadline, n.PreviousDeadline)
		case n.Reason != ReasonOperation && n.Reason != ReasonRetryWindow:
			return fmt.Errorf("DEADLINE reason %q", n.Reason)
		case len(batch) != 1:
			return fmt.Errorf("DEADLINE together with another notification")
		}
	case EventReminder:
		due := n.RetryDeadline.Add(-n.Reminder)
		if o.Status != Failed || o.At.Before(due) || !o.At.Before(n.RetryDeadline) || !slices.Contains(p.Reminders, n.Reminder) {
			return fmt.Errorf("REMINDER %v for deadline %v", n.Reminder, n.RetryDeadline)
		}
		if slices.ContainsFunc(batch, func(b Notification) bool { return b.Event == EventExpired }) {
			return fmt.Errorf("REMINDER together with EXPIRED")
		}
	case EventExpired:
		if o.Status == Failed && o.At.Before(n.RetryDeadline) || o.Status != Failed && o.Status != NotFound {
			return fmt.Errorf("status %s before the deadline %v", o.Status, n.RetryDeadline)
		}
	case EventRecovered:
		if o.Status != Claimed || !p.NotifyRecovery {
			return fmt.Errorf("status %s, NotifyRecovery %v", o.Status, p.NotifyRecovery)
		}
	}
	return h.deadline(n, o)
}

// deadline checks an episode notification's deadline against the truth and the chain.
func (h *history) deadline(n Notification, o Observation) error {
	if n.FailedAfter.After(n.FailedSince) {
		return fmt.Errorf("failedAfter %v after failedSince %v", n.FailedAfter, n.FailedSince)
	}
	if n.RetryDeadline.After(n.FailedSince.Add(h.maxWindow)) {
		return fmt.Errorf("deadline %v later than first sight %v + window", n.RetryDeadline, n.FailedSince)
	}
	c := h.chain
	if c == nil || n.Event == EventRecovered || o.Status != Failed {
		return nil
	}
	// First sight with no call known has no lower bound: its deadline is an upper bound.
	if real := c.windowStart.Add(h.maxWindow); n.Basis != BasisFirstObservation && n.RetryDeadline.After(real) {
		return fmt.Errorf("deadline %v later than the true release %v", n.RetryDeadline, real)
	}
	if !n.PreviousDeadline.IsZero() && n.Event != EventDeadline {
		// A restart: only a call after the chain's first FAILED sight can prove one (Decide may
		// learn of it a run late, after stating the old deadline again).
		if c.calls == 0 {
			return fmt.Errorf("restarted from %v with no call since the chain began", n.PreviousDeadline)
		}
		c.deadlines = nil
	}
	for _, d := range c.deadlines {
		if n.RetryDeadline.After(d) {
			return fmt.Errorf("deadline %v later than %v stated earlier in the chain (no new call since)", n.RetryDeadline, d)
		}
	}
	c.deadlines = append(c.deadlines, n.RetryDeadline)
	return nil
}

// publish sends the run's notifications as the monitor does: marked sent when confirmed,
// noted as attempted when the answer was lost (and sent again by the next run), forgotten when
// definitely not delivered unless an earlier attempt may have been.
func (h *history) publish(next *Record, notes []Notification, mode delivery) error {
	for _, n := range notes {
		m := mode
		if m == flaky {
			m = []delivery{up, down}[h.rng.IntN(2)]
		}
		if h.confirmed[n.ID] {
			return fmt.Errorf("%s decided again after it was confirmed", n.ID)
		}
		switch m {
		case up:
			h.delivered[n.ID]++
			next.MarkSent(n)
			h.confirmed[n.ID] = true
		case unconfirmed:
			h.delivered[n.ID]++
			h.unconfirmed[n.ID]++
			next.NoteAttempted(n.ID)
		}
		if copies := h.delivered[n.ID] - 1; copies > h.unconfirmed[n.ID] {
			return fmt.Errorf("%s delivered %d times with %d unanswered attempts: a copy not bounded by one",
				n.ID, h.delivered[n.ID], h.unconfirmed[n.ID])
		}
	}
	return nil
}

// owed checks that what an up publisher could deliver by now, it did.
func (h *history) owed(st Status, mode delivery, next *Record) error {
	if mode != up {
		return nil
	}
	e := next.Episode
	if e == nil {
		return nil
	}
	// Delivered with any deadline: an ID ends with the deadline it stated.
	got := func(ev Event) bool {
		return h.deliveredAny(testNumber.ID + "/" + string(ev) + "/" + stamp(e.FailedSince))
	}
	switch {
	case st == Failed && !got(EventFailed) && !got(EventExpired):
		return fmt.Errorf("FAILED never delivered for the episode since %v, though the publisher was up", e.FailedSince)
	case st == Failed && !h.now.Before(e.Deadline) && !got(EventExpired):
		return fmt.Errorf("EXPIRED never delivered for the episode since %v, FAILED past its deadline %v", e.FailedSince, e.Deadline)
	case st == Failed && e.Open() && e.FailedSentAt.After(time.Time{}) && e.Deadline.Before(e.AnnouncedDeadline) && e.ExpiredSentAt.IsZero():
		return fmt.Errorf("deadline %v earlier than the announced %v, and no DEADLINE delivered", e.Deadline, e.AnnouncedDeadline)
	case next.Status == NotFound && !got(EventExpired):
		return fmt.Errorf("gone with the episode since %v kept and no EXPIRED", e.FailedSince)
	case st == Claimed && h.policy.NotifyRecovery && (got(EventFailed) || got(EventExpired)) && !got(EventRecovered):
		return fmt.Errorf("CLAIMED after the announced episode since %v, and no RECOVERED", e.FailedSince)
	}
	return nil
}

// deliveredAny reports whether a notification whose ID is about (or about/...) was delivered.
func (h *history) deliveredAny(about string) bool {
	for id, n := range h.delivered {
		if n > 0 && (id == about || strings.HasPrefix(id, about+"/")) {
			return true
		}
	}
	return false
}

// confirmedAny reports whether a notification whose ID is about (or about/...) was confirmed.
func (h *history) confirmedAny(about string) bool {
	for id := range h.confirmed {
		if id == about || strings.HasPrefix(id, about+"/") {
			return true
		}
	}
	return false
}
