package status

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestDecideProperties plays many random histories of one number through Decide and MarkSent
// (statuses at increasing random times, with random publish failures, marking only what was
// delivered) and checks DESIGN.md's rules after every run against a model built from the
// observations alone. Each seed is a subtest named after it; a failure names its seed and step,
// and `go test -run 'TestDecideProperties/seed=17$'` replays it.
func TestDecideProperties(t *testing.T) {
	for seed := uint64(1); seed <= 400; seed++ {
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
	up    delivery = iota // every notification is delivered
	down                  // none is
	flaky                 // each is delivered or not at random
)

// modelEpisode is a FAILED episode as the test sees it from the observations alone: a maximal
// run of consecutive FAILED checks.
type modelEpisode struct {
	start    time.Time // first FAILED check
	prev     time.Time // latest not-FAILED check before start; zero at first sight
	deadline time.Time // the deadline DESIGN.md gives from start and prev
	open     bool      // no check has seen the number leave FAILED yet
	// claimed: a CLAIMED check came after the episode, so a later gone is a release by the
	// owner, not an expiry. gone: a gone check came after it, so it can no longer recover.
	claimed, gone bool
	// upWhileFailed: a check in the episode ran while the publisher was up.
	// upPastDeadline: a FAILED check at or after the deadline ran while it was up.
	upWhileFailed, upPastDeadline bool

	delivered map[string]int // "FAILED", "EXPIRED", "RECOVERED", "REMINDER 1h0m0s": times delivered
	announced time.Time      // when FAILED was delivered
	nearest   time.Duration  // smallest reminder offset delivered so far; 0: none
}

// history is one random sequence of checks of one number, with the model's view of it.
type history struct {
	rng         *rand.Rand
	policy      Policy
	step, steps int

	rec         *Record // what the previous run saved; nil before the first check
	now         time.Time
	last        Status    // status at the previous check; "" before the first
	lastNotFail time.Time // latest not-FAILED check
	episodes    map[int64]*modelEpisode
	cur         *modelEpisode // the latest episode, open or ended
	spellStart  time.Time     // first check of the current IN_PROGRESS spell
	stuckSent   map[int64]int // STUCK deliveries by spell start
}

func newHistory(seed uint64) *history {
	rng := rand.New(rand.NewPCG(seed, 0x70686f6e65))
	return &history{
		rng: rng, policy: randomPolicy(rng), steps: 60 + rng.IntN(60), now: t0,
		episodes: map[int64]*modelEpisode{}, stuckSent: map[int64]int{},
	}
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

// check runs one check: it updates the model, calls Decide, checks each notification, publishes
// with the run's delivery, marks what was delivered, and checks what must have been delivered.
func (h *history) check() error {
	h.now = h.now.Add(h.gap())
	st := h.status()
	mode := []delivery{up, up, up, up, down, flaky}[h.rng.IntN(6)]
	h.observe(st, mode)

	o := Observation{Number: testNumber, Status: st, Message: "m", At: h.now}
	if st == NotFound {
		o = Gone(testNumber, h.now)
	}
	var before Record
	var beforeEpisode Episode
	if h.rec != nil {
		before = *h.rec
		if h.rec.Episode != nil {
			beforeEpisode = *h.rec.Episode
		}
	}

	next, notes := Decide(h.rec, o, h.policy)

	if h.rec != nil && (!reflect.DeepEqual(*h.rec, before) || h.rec.Episode != nil && *h.rec.Episode != beforeEpisode) {
		return fmt.Errorf("decide changed its input record")
	}
	for _, n := range notes {
		if err := h.allowed(n, o, notes); err != nil {
			return fmt.Errorf("%s decided at %v (status %s): %w", n.Event, h.now, st, err)
		}
	}
	for _, n := range notes {
		if mode == down || mode == flaky && h.rng.IntN(2) == 0 {
			continue
		}
		next.MarkSent(n)
		if err := h.delivered(n); err != nil {
			return fmt.Errorf("%s delivered at %v: %w", n.Event, h.now, err)
		}
	}
	if err := h.owed(st, mode); err != nil {
		return err
	}

	if st != Failed {
		h.lastNotFail = h.now
	}
	h.last = st
	h.rec = &next
	return nil
}

// observe updates the model's episodes and IN_PROGRESS spell with a check of status st.
func (h *history) observe(st Status, mode delivery) {
	if st == Failed && h.last != Failed {
		e := &modelEpisode{start: h.now, prev: h.lastNotFail, open: true, delivered: map[string]int{}}
		e.deadline = h.lastNotFail.Add(h.policy.RetryWindow)
		if h.lastNotFail.IsZero() {
			e.deadline = h.now.Add(h.policy.RetryWindow)
		}
		h.episodes[h.now.UnixNano()] = e
		h.cur = e
	}
	if e := h.cur; e != nil {
		switch st {
		case Failed:
			e.upWhileFailed = e.upWhileFailed || mode == up
			e.upPastDeadline = e.upPastDeadline || mode == up && !h.now.Before(e.deadline)
		case Claimed:
			e.open, e.claimed = false, true
		case NotFound:
			e.open, e.gone = false, true
		default:
			e.open = false
		}
	}
	if st == InProgress && h.last != InProgress {
		h.spellStart = h.now
	}
}

// allowed checks one decided notification against the model: the episode it is about, its
// deadline and basis, and whether this check allows its event at all.
func (h *history) allowed(n Notification, o Observation, batch []Notification) error {
	p := h.policy
	if !n.ObservedAt.Equal(o.At) || n.Status != o.Status || n.Number != testNumber {
		return fmt.Errorf("carries observed %v status %q number %+v", n.ObservedAt, n.Status, n.Number)
	}
	if n.Event == EventStuck {
		switch {
		case o.Status != InProgress || !n.InProgressSince.Equal(h.spellStart):
			return fmt.Errorf("since %v, but the IN_PROGRESS spell began %v", n.InProgressSince, h.spellStart)
		case o.At.Sub(h.spellStart) < p.StuckAfter:
			return fmt.Errorf("only %v into the spell", o.At.Sub(h.spellStart))
		case h.stuckSent[h.spellStart.UnixNano()] > 0:
			return fmt.Errorf("decided again after it was delivered for this spell")
		}
		return nil
	}

	e := h.episodes[n.FailedSince.UnixNano()]
	if e == nil {
		return fmt.Errorf("about an episode since %v that never began", n.FailedSince)
	}
	if !n.RetryDeadline.Equal(e.deadline) {
		return fmt.Errorf("deadline %v, want %v", n.RetryDeadline, e.deadline)
	}
	if e.prev.IsZero() {
		if n.Basis != BasisFirstObservation {
			return fmt.Errorf("episode at first sight has basis %q", n.Basis)
		}
	} else {
		if n.Basis != BasisTransition {
			return fmt.Errorf("episode after a not-FAILED check has basis %q", n.Basis)
		}
		// The claim failed at some time in (prev, start]; the deadline is never later than
		// that time plus the window.
		failedAt := e.prev.Add(1 + time.Duration(h.rng.Int64N(int64(e.start.Sub(e.prev)))))
		if n.RetryDeadline.After(failedAt.Add(p.RetryWindow)) {
			return fmt.Errorf("deadline %v later than a possible release at %v", n.RetryDeadline, failedAt.Add(p.RetryWindow))
		}
	}
	if n.Event != EventReminder && e.delivered[string(n.Event)] > 0 {
		return fmt.Errorf("decided again after it was delivered for the episode since %v", e.start)
	}

	switch n.Event {
	case EventFailed:
		if o.Status != Failed || !e.open {
			return fmt.Errorf("episode since %v is not open", e.start)
		}
	case EventReminder:
		due := n.RetryDeadline.Add(-n.Reminder)
		switch {
		case o.Status != Failed || o.At.Before(due) || !o.At.Before(n.RetryDeadline):
			return fmt.Errorf("REMINDER %v for deadline %v", n.Reminder, n.RetryDeadline)
		case e.announced.IsZero() || !due.After(e.announced):
			return fmt.Errorf("REMINDER %v due %v, covered by FAILED (delivered at %v, zero: not yet)", n.Reminder, due, e.announced)
		case e.delivered[string(EventExpired)] > 0:
			return fmt.Errorf("REMINDER %v after EXPIRED was delivered", n.Reminder)
		case e.delivered["REMINDER "+n.Reminder.String()] > 0:
			return fmt.Errorf("REMINDER %v decided again after it was delivered", n.Reminder)
		}
		for _, off := range p.Reminders {
			if off < n.Reminder && !o.At.Before(n.RetryDeadline.Add(-off)) {
				return fmt.Errorf("REMINDER %v though the nearer %v is due too", n.Reminder, off)
			}
		}
		for _, other := range batch {
			if other.Event == EventExpired {
				return fmt.Errorf("REMINDER %v together with EXPIRED", n.Reminder)
			}
		}
	case EventExpired:
		switch o.Status {
		case Failed:
			if o.At.Before(n.RetryDeadline) {
				return fmt.Errorf("before the deadline %v", n.RetryDeadline)
			}
		case NotFound:
			if e.claimed {
				return fmt.Errorf("number gone after it was seen CLAIMED again")
			}
		default:
			return fmt.Errorf("number neither FAILED nor gone")
		}
	case EventRecovered:
		if o.Status != Claimed || !p.NotifyRecovery || e.gone || e.delivered[string(EventFailed)] == 0 {
			return fmt.Errorf("NotifyRecovery %v, gone since %v, FAILED delivered %d times",
				p.NotifyRecovery, e.gone, e.delivered[string(EventFailed)])
		}
	}
	return nil
}

// delivered counts a delivered notification: each (episode, event, reminder offset) and each
// STUCK spell at most once, reminders only ever nearer to the deadline, none after EXPIRED.
func (h *history) delivered(n Notification) error {
	if n.Event == EventStuck {
		if h.stuckSent[n.InProgressSince.UnixNano()]++; h.stuckSent[n.InProgressSince.UnixNano()] > 1 {
			return fmt.Errorf("twice for the spell since %v", n.InProgressSince)
		}
		return nil
	}
	e := h.episodes[n.FailedSince.UnixNano()]
	key := string(n.Event)
	if n.Event == EventReminder {
		key += " " + n.Reminder.String()
		if e.delivered[string(EventExpired)] > 0 {
			return fmt.Errorf("REMINDER %v after EXPIRED", n.Reminder)
		}
		if e.nearest != 0 && n.Reminder > e.nearest {
			return fmt.Errorf("REMINDER %v after the nearer REMINDER %v", n.Reminder, e.nearest)
		}
		e.nearest = n.Reminder
	}
	if n.Event == EventFailed {
		e.announced = n.ObservedAt
	}
	if e.delivered[key]++; e.delivered[key] > 1 {
		return fmt.Errorf("%s twice in the episode since %v", key, e.start)
	}
	return nil
}

// owed checks that what the publisher could deliver by now, it did: FAILED once a check of the
// episode ran with the publisher up; EXPIRED once a check past the deadline did, or the number
// vanished straight from FAILED while it was up; RECOVERED on an up run that sees an announced
// episode's number CLAIMED (when NotifyRecovery).
func (h *history) owed(st Status, mode delivery) error {
	e := h.cur
	if e == nil {
		return nil
	}
	switch {
	case e.upWhileFailed && e.delivered[string(EventFailed)] == 0:
		return fmt.Errorf("FAILED never delivered for the episode since %v, though the publisher was up", e.start)
	case e.upPastDeadline && e.delivered[string(EventExpired)] == 0:
		return fmt.Errorf("EXPIRED never delivered for the episode since %v, seen FAILED past its deadline %v with the publisher up",
			e.start, e.deadline)
	case st == NotFound && h.last == Failed && mode == up && e.delivered[string(EventExpired)] == 0:
		return fmt.Errorf("number gone while FAILED, publisher up, and no EXPIRED for the episode since %v", e.start)
	case st == Claimed && mode == up && h.policy.NotifyRecovery && !e.gone && e.delivered[string(EventFailed)] > 0 &&
		e.delivered[string(EventRecovered)] == 0:
		return fmt.Errorf("number CLAIMED after the announced episode since %v, publisher up, and no RECOVERED", e.start)
	}
	return nil
}
