package status

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is the origin of every scenario's clock; times in tests are offsets from it.
var t0 = time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)

// testNumber is the number every scenario watches.
var testNumber = Number{
	ID:          "0f2c3a4b-1d2e-4f50-8a9b-0c1d2e3f4a5b",
	ARN:         "arn:aws:connect:us-east-1:123456789012:phone-number/0f2c3a4b-1d2e-4f50-8a9b-0c1d2e3f4a5b",
	E164:        "+18005550100",
	CountryCode: "US",
	Type:        "TOLL_FREE",
	TargetARN:   "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-3333-4444-555555555555",
	InstanceID:  "11111111-2222-3333-4444-555555555555",
}

// step is one check in a scenario: what Connect said at t0+at, whether the notifications it
// produced were delivered (marked sent) or lost (publish failed), and what Decide must produce.
type step struct {
	at     time.Duration
	status Status // NotFound: the number is gone (status.Gone)
	lost   bool   // the publish of this step's notifications failed: nothing is marked
	lose   Event  // only this step's notification of this event failed to publish
	want   []string

	op, release *Operation // what CloudTrail showed by this check (nil: nothing new)
}

// call is a CloudTrail operation at t0+at.
func call(name string, at time.Duration) *Operation {
	return &Operation{Name: name, At: t0.Add(at), By: "arn:aws:iam::123456789012:user/ops", EventID: name + "-" + at.String()}
}

// observe builds the observation of testNumber at t0+at.
func observe(st Status, at time.Duration) Observation {
	if st == NotFound {
		return Gone(testNumber, t0.Add(at))
	}
	return Observation{Number: testNumber, Status: st, Message: "claim " + strings.ToLower(string(st)), At: t0.Add(at)}
}

// off renders a time as its offset from t0, compactly: "24h", "24h20m", "30m", "0".
func off(t time.Time) string {
	d := t.Sub(t0)
	if d == 0 {
		return "0"
	}
	s := strings.TrimSuffix(d.String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// describe renders a notification as a short readable line with the facts a test pins down.
func describe(n Notification) string {
	switch n.Event {
	case EventStuck:
		return fmt.Sprintf("STUCK since=%s", off(n.InProgressSince))
	case EventReminder:
		return fmt.Sprintf("REMINDER %s %s deadline=%s", strings.TrimSuffix(strings.TrimSuffix(n.Reminder.String(), "0s"), "0m"), n.Basis, off(n.RetryDeadline))
	default:
		s := fmt.Sprintf("%s %s deadline=%s", n.Event, n.Basis, off(n.RetryDeadline))
		if n.Retries > 0 {
			s += fmt.Sprintf(" retries=%d", n.Retries)
		}
		if !n.PreviousDeadline.IsZero() {
			s += " previous=" + off(n.PreviousDeadline)
		}
		return s
	}
}

// run plays steps through Decide and MarkSent like the monitor does (each run's output record is
// the next run's input), and reports every step whose notifications differ from its want.
func run(t *testing.T, p Policy, steps []step) *Record {
	t.Helper()
	var prev *Record
	for i, s := range steps {
		o := observe(s.status, s.at)
		o.Operation, o.Release = s.op, s.release
		next, notes := Decide(prev, o, p)
		got := make([]string, len(notes))
		for j, n := range notes {
			got[j] = describe(n)
		}
		if !slices.Equal(got, s.want) {
			t.Errorf("step %d (%s at +%s): got %q, want %q", i, s.status, off(t0.Add(s.at)), got, s.want)
		}
		for _, n := range notes {
			if !s.lost && n.Event != s.lose {
				next.MarkSent(n)
			}
		}
		prev = &next
	}
	return prev
}

func TestDecide(t *testing.T) {
	const (
		C  = Claimed
		IP = InProgress
		F  = Failed
		G  = NotFound // gone
	)
	h, m := time.Hour, time.Minute
	noRecovery := DefaultPolicy()
	noRecovery.NotifyRecovery = false
	noReminders := DefaultPolicy()
	noReminders.Reminders = nil
	reversedReminders := DefaultPolicy()
	reversedReminders.Reminders = []time.Duration{time.Hour, 6 * time.Hour}

	testCases := []struct {
		name   string
		policy *Policy // nil: DefaultPolicy
		steps  []step
	}{
		{
			name:  "FAILED at first sight: basis first-observation, deadline now+window",
			steps: []step{{at: 5 * m, status: F, want: []string{"FAILED first-observation deadline=24h5m"}}},
		},
		{
			name: "CLAIMED then FAILED: basis transition, deadline from the CLAIMED check",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
			},
		},
		{
			name: "several CLAIMED checks then FAILED: the latest not-FAILED check counts",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: C},
				{at: 20 * m, status: C},
				{at: 30 * m, status: F, want: []string{"FAILED transition deadline=24h20m"}},
			},
		},
		{
			name: "IN_PROGRESS then FAILED: an IN_PROGRESS check is a not-FAILED check",
			steps: []step{
				{at: 0, status: IP},
				{at: 10 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
			},
		},
		{
			name: "FAILED once marked sent is not re-sent on the next runs",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
				{at: 20 * m, status: F},
				{at: 2 * h, status: F},
			},
		},
		{
			name: "FAILED not marked (publish failed) is decided again, same deadline",
			steps: []step{
				{at: 0, status: F, lost: true, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 10 * m, status: F, lost: true, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 20 * m, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 30 * m, status: F},
			},
		},
		{
			name: "REMINDER for each offset in order, 6h then 1h, each once",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 17*h + 59*m, status: F},
				{at: 18 * h, status: F, want: []string{"REMINDER 6h first-observation deadline=24h"}},
				{at: 19 * h, status: F},
				{at: 22*h + 59*m, status: F},
				{at: 23 * h, status: F, want: []string{"REMINDER 1h first-observation deadline=24h"}},
				{at: 23*h + 30*m, status: F},
			},
		},
		{
			name:   "REMINDER offsets configured out of order are still sent 6h then 1h",
			policy: &reversedReminders,
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 19 * h, status: F, want: []string{"REMINDER 6h first-observation deadline=24h"}},
				{at: 23*h + 10*m, status: F, want: []string{"REMINDER 1h first-observation deadline=24h"}},
			},
		},
		{
			name: "late run past both reminder times sends only the nearest (1h), once",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 23*h + 30*m, status: F, want: []string{"REMINDER 1h first-observation deadline=24h"}},
				{at: 23*h + 45*m, status: F},
			},
		},
		{
			name: "REMINDER lost is decided again; the next offset is not skipped after it",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 18 * h, status: F, lost: true, want: []string{"REMINDER 6h first-observation deadline=24h"}},
				{at: 19 * h, status: F, want: []string{"REMINDER 6h first-observation deadline=24h"}},
				{at: 20 * h, status: F},
				{at: 23 * h, status: F, want: []string{"REMINDER 1h first-observation deadline=24h"}},
			},
		},
		{
			name: "REMINDER 6h lost until the 1h time: only the 1h one, never the stale 6h",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 18 * h, status: F, lost: true, want: []string{"REMINDER 6h first-observation deadline=24h"}},
				{at: 23 * h, status: F, want: []string{"REMINDER 1h first-observation deadline=24h"}},
				{at: 23*h + 30*m, status: F},
			},
		},
		{
			name: "reminders already due when FAILED was sent are covered by FAILED",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, lost: true, want: []string{"FAILED transition deadline=24h"}},
				{at: 19 * h, status: F, want: []string{"FAILED transition deadline=24h"}}, // 6h reminder time (18h) already past
				{at: 20 * h, status: F},
				{at: 23 * h, status: F, want: []string{"REMINDER 1h transition deadline=24h"}},
			},
		},
		{
			name: "FAILED first delivered after both reminder times: no reminder at all",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, lost: true, want: []string{"FAILED transition deadline=24h"}},
				{at: 23*h + 30*m, status: F, want: []string{"FAILED transition deadline=24h"}},
				{at: 23*h + 50*m, status: F},
				{at: 24 * h, status: F, want: []string{"EXPIRED transition deadline=24h"}},
			},
		},
		{
			name: "transition deadline inside the reminder range: FAILED covers 6h, then 1h",
			steps: []step{
				{at: 0, status: C},
				{at: 20 * h, status: F, want: []string{"FAILED transition deadline=24h"}},
				{at: 22 * h, status: F},
				{at: 23 * h, status: F, want: []string{"REMINDER 1h transition deadline=24h"}},
			},
		},
		{
			name:   "no reminders configured: FAILED then EXPIRED only",
			policy: &noReminders,
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 18 * h, status: F},
				{at: 23 * h, status: F},
				{at: 24 * h, status: F, want: []string{"EXPIRED first-observation deadline=24h"}},
			},
		},
		{
			name: "EXPIRED at exactly the deadline, once",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 24 * h, status: F, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 25 * h, status: F},
				{at: 48 * h, status: F},
			},
		},
		{
			name: "EXPIRED after the deadline, once, and no reminder with or after it",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 30 * h, status: F, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 31 * h, status: F},
			},
		},
		{
			name: "EXPIRED lost is decided again",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 24 * h, status: F, lost: true, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 25 * h, status: F, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 26 * h, status: F},
			},
		},
		{
			// Issue 17 (7): no FAILED beside it telling people to retry before a deadline behind.
			name: "transition deadline already past (long gap between checks): EXPIRED alone",
			steps: []step{
				{at: 0, status: C},
				{at: 30 * h, status: F, want: []string{"EXPIRED transition deadline=24h"}},
				{at: 31 * h, status: F},
			},
		},
		{
			name: "past deadline, EXPIRED lost: decided again, then not",
			steps: []step{
				{at: 0, status: C},
				{at: 30 * h, status: F, lost: true, want: []string{"EXPIRED transition deadline=24h"}},
				{at: 31 * h, status: F, want: []string{"EXPIRED transition deadline=24h"}},
				{at: 32 * h, status: F},
			},
		},
		{
			name: "gone during an open episode: EXPIRED once the next run confirms it",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
				{at: 2 * h, status: G},
				{at: 3 * h, status: G, want: []string{"EXPIRED transition deadline=24h"}},
				{at: 4 * h, status: G},
			},
		},
		{
			name: "gone during an open episode, EXPIRED lost: decided again while gone",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 2 * h, status: G},
				{at: 3 * h, status: G, lost: true, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 4 * h, status: G, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 5 * h, status: G},
			},
		},
		{
			name: "gone after EXPIRED was sent while FAILED: no second EXPIRED",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 24 * h, status: F, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 25 * h, status: G},
			},
		},
		{
			name: "gone during the retry (IN_PROGRESS) that followed FAILED: EXPIRED",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: IP},
				{at: 2 * h, status: G},
				{at: 3 * h, status: G, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 4 * h, status: G},
			},
		},
		{
			name: "never-FAILED number gone: nothing",
			steps: []step{
				{at: 0, status: C},
				{at: 1 * h, status: G},
				{at: 2 * h, status: G},
			},
		},
		{
			name:  "gone at first sight: nothing",
			steps: []step{{at: 0, status: G}},
		},
		{
			name: "gone after CLAIMED (recovered) is no EXPIRED",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: C, want: []string{"RECOVERED first-observation deadline=24h"}},
				{at: 2 * h, status: G},
			},
		},
		{
			name: "gone after CLAIMED while RECOVERED is still owed: no EXPIRED, not even on the next run",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: C, lost: true, want: []string{"RECOVERED first-observation deadline=24h"}},
				{at: 2 * h, status: G},
				{at: 3 * h, status: G},
			},
		},
		{
			name: "gone in an IN_PROGRESS spell after recovery: no EXPIRED",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: C, lost: true, want: []string{"RECOVERED first-observation deadline=24h"}},
				{at: 2 * h, status: IP},
				{at: 3 * h, status: G},
				{at: 4 * h, status: G},
			},
		},
		{
			// Issue 17 (3): without a release or a new claim the 404s were transient: the
			// episode goes on, so the EXPIRED that went out is corrected by RECOVERED.
			name: "gone number that comes back CLAIMED without a release or claim: its episode, RECOVERED",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 30 * m, status: G},
				{at: 1 * h, status: G, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 2 * h, status: C, want: []string{"RECOVERED first-observation deadline=24h"}},
			},
		},
		{
			name: "gone number that comes back CLAIMED after a new claim: a new life, no RECOVERED",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 30 * m, status: G},
				{at: 1 * h, status: G, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 2 * h, status: C, op: call(OpClaim, 90*m)},
			},
		},
		{
			name: "gone number that comes back FAILED without a release or claim: its episode and deadline go on",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 30 * m, status: G},
				{at: 1 * h, status: G, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 5 * h, status: F},
				{at: 25 * h, status: F},
			},
		},
		{
			name: "released number claimed again and FAILED: a new episode from the claim",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 30 * m, status: G, release: call(OpRelease, 20*m), want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 5 * h, status: F, op: call(OpClaim, 4*h), want: []string{"FAILED operation deadline=28h"}},
			},
		},
		{
			name: "gone number back through IN_PROGRESS to CLAIMED, no trace of a claim: RECOVERED",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 30 * m, status: G},
				{at: 1 * h, status: G, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 2 * h, status: IP},
				{at: 3 * h, status: C, want: []string{"RECOVERED first-observation deadline=24h"}},
			},
		},
		{
			name: "gone with EXPIRED lost, back IN_PROGRESS, gone again: the EXPIRED is still owed",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 30 * m, status: G},
				{at: 1 * h, status: G, lost: true, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 2 * h, status: IP},
				{at: 3 * h, status: G},
				{at: 4 * h, status: G, want: []string{"EXPIRED first-observation deadline=24h"}},
			},
		},
		{
			name: "RECOVERED on FAILED->CLAIMED after FAILED was delivered, once",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
				{at: 1 * h, status: C, want: []string{"RECOVERED transition deadline=24h"}},
				{at: 2 * h, status: C},
			},
		},
		{
			name: "RECOVERED via FAILED->IN_PROGRESS->CLAIMED",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: IP},
				{at: 2 * h, status: C, want: []string{"RECOVERED first-observation deadline=24h"}},
				{at: 3 * h, status: C},
			},
		},
		{
			name: "RECOVERED after EXPIRED: the number was retried in time after all",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 24 * h, status: F, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 25 * h, status: C, want: []string{"RECOVERED first-observation deadline=24h"}},
			},
		},
		{
			name:   "no RECOVERED when NotifyRecovery is false",
			policy: &noRecovery,
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: C},
				{at: 2 * h, status: C},
			},
		},
		{
			name: "no RECOVERED when FAILED was never delivered",
			steps: []step{
				{at: 0, status: F, lost: true, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: C},
				{at: 2 * h, status: C},
			},
		},
		{
			name: "RECOVERED not marked is decided again while CLAIMED",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: C, lost: true, want: []string{"RECOVERED first-observation deadline=24h"}},
				{at: 2 * h, status: C, want: []string{"RECOVERED first-observation deadline=24h"}},
				{at: 3 * h, status: C},
			},
		},
		{
			name: "FAILED->IN_PROGRESS->FAILED: a retry that failed too keeps the chain's deadline",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: IP},
				{at: 2 * h, status: F, want: []string{"FAILED first-observation deadline=24h retries=1"}},
				{at: 3 * h, status: F},
			},
		},
		{
			name: "STUCK after StuckAfter of IN_PROGRESS, once per spell, again in a new spell",
			steps: []step{
				{at: 0, status: IP},
				{at: 29 * m, status: IP},
				{at: 30 * m, status: IP, want: []string{"STUCK since=0"}},
				{at: 40 * m, status: IP},
				{at: 5 * h, status: IP},
				{at: 6 * h, status: C},
				{at: 7 * h, status: IP},
				{at: 7*h + 20*m, status: IP},
				{at: 7*h + 40*m, status: IP, want: []string{"STUCK since=7h"}},
				{at: 8 * h, status: IP},
			},
		},
		{
			name: "STUCK not marked is decided again",
			steps: []step{
				{at: 0, status: IP},
				{at: 30 * m, status: IP, lost: true, want: []string{"STUCK since=0"}},
				{at: 40 * m, status: IP, want: []string{"STUCK since=0"}},
				{at: 50 * m, status: IP},
			},
		},
		{
			name: "IN_PROGRESS spell broken by FAILED: a retry spell counts from its own start",
			steps: []step{
				{at: 0, status: IP},
				{at: 20 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
				{at: 25 * m, status: IP},
				{at: 50 * m, status: IP},
				{at: 55 * m, status: IP, want: []string{"STUCK since=25m"}},
			},
		},
		// Rule 1: stale checks.
		{
			name: "stale: a check stamped before the last one after EXPIRED sends no REMINDER",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 19 * h, status: F, want: []string{"REMINDER 6h first-observation deadline=24h"}},
				{at: 25 * h, status: F, want: []string{"EXPIRED first-observation deadline=24h"}},
				{at: 23*h + 30*m, status: F},
				{at: 26 * h, status: F},
			},
		},
		{
			name: "stale: FAILED stamped before the CLAIMED check changes nothing",
			steps: []step{
				{at: 10 * h, status: C},
				{at: 9*h + 50*m, status: F},
				{at: 10*h + 5*m, status: F, want: []string{"FAILED transition deadline=34h"}},
			},
		},
		// Rule 2: the deadline is the latest lower bound, never later than first sight + window.
		{
			name: "operation after the CLAIMED check: basis operation from the call",
			steps: []step{
				{at: 0, status: C},
				{at: 30 * m, status: F, op: call(OpUpdate, 20*m), want: []string{"FAILED operation deadline=24h20m"}},
			},
		},
		{
			name: "operation before the CLAIMED check: basis transition, the later bound",
			steps: []step{
				{at: 0, status: C, op: call(OpUpdate, -10*m)},
				{at: 30 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
			},
		},
		{
			name: "operation known at first sight: basis operation, earlier than first sight + window",
			steps: []step{
				{at: 0, status: F, op: call(OpClaim, -2*h), want: []string{"FAILED operation deadline=22h"}},
			},
		},
		{
			name: "operation stamped after the check cannot explain it: first-observation",
			steps: []step{
				{at: 0, status: F, op: call(OpClaim, h), want: []string{"FAILED first-observation deadline=24h"}},
			},
		},
		// Rule 3: chains.
		{
			name: "chain: transition deadline kept by the retry that failed too, then its reminders",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
				{at: 2 * h, status: IP},
				{at: 2*h + 10*m, status: F, want: []string{"FAILED transition deadline=24h retries=1"}},
				{at: 18 * h, status: F, want: []string{"REMINDER 6h transition deadline=24h"}},
			},
		},
		{
			name: "chain: a retry through a long IN_PROGRESS spell is still the same chain",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: IP},
				{at: 2 * h, status: IP, want: []string{"STUCK since=1h"}},
				{at: 3 * h, status: F, want: []string{"FAILED first-observation deadline=24h retries=1"}},
				{at: 4 * h, status: IP},
				{at: 5 * h, status: F, want: []string{"FAILED first-observation deadline=24h retries=2"}},
			},
		},
		{
			name: "chain: a new update after the first FAILED sight restarts the deadline from it",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
				{at: 2 * h, status: IP},
				{at: 2*h + 10*m, status: F, op: call(OpUpdate, 2*h+5*m), want: []string{"FAILED operation deadline=26h5m retries=1 previous=24h"}},
				{at: 2*h + 20*m, status: F, op: call(OpUpdate, 2*h+5*m)},
			},
		},
		{
			name: "chain: the operation the chain rests on proves no new call",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, op: call(OpUpdate, 5*m), want: []string{"FAILED operation deadline=24h5m"}},
				{at: 2 * h, status: IP},
				{at: 3 * h, status: F, want: []string{"FAILED operation deadline=24h5m retries=1"}},
			},
		},
		{
			// ... but bounds the chain's deadline (sim seed 1007478: the claim's event came 36
			// minutes late, after the retry's IN_PROGRESS check).
			name: "chain: a call before the chain's first FAILED sight proves no new call, and bounds its deadline",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: IP, op: call(OpClaim, -time.Minute)},
				{at: 2 * h, status: F, want: []string{"FAILED operation deadline=23h59m retries=1"}},
			},
		},
		{
			name: "chain: a new call while FAILED stays FAILED is a new episode stating both deadlines",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
				{at: 1*h + 10*m, status: F, op: call(OpUpdate, h), want: []string{"FAILED operation deadline=25h retries=1 previous=24h"}},
			},
		},
		{
			name: "chain ends at CLAIMED: a later FAILED starts afresh",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: C, want: []string{"RECOVERED first-observation deadline=24h"}},
				{at: 2 * h, status: IP},
				{at: 3 * h, status: F, want: []string{"FAILED transition deadline=26h"}},
			},
		},
		// Rule 5: gone needs confirmation.
		{
			name: "gone once, then FAILED again: same episode, no false EXPIRED, no second FAILED",
			steps: []step{
				{at: 0, status: C},
				{at: 10 * m, status: F, want: []string{"FAILED transition deadline=24h"}},
				{at: 1 * h, status: G},
				{at: 2 * h, status: F},
				{at: 3 * h, status: G},
				{at: 4 * h, status: F},
				{at: 18 * h, status: F, want: []string{"REMINDER 6h transition deadline=24h"}},
			},
		},
		{
			name: "gone once during IN_PROGRESS, then FAILED: still the chain",
			steps: []step{
				{at: 0, status: F, want: []string{"FAILED first-observation deadline=24h"}},
				{at: 1 * h, status: IP},
				{at: 2 * h, status: G},
				{at: 3 * h, status: F, want: []string{"FAILED first-observation deadline=24h retries=1"}},
			},
		},
		{
			name: "gone with a release newer than any claim: confirmed at once",
			steps: []step{
				{at: 0, status: F, op: call(OpClaim, -time.Hour), want: []string{"FAILED operation deadline=23h"}},
				{at: 2 * h, status: G, release: call(OpRelease, time.Hour+50*m), want: []string{"EXPIRED operation deadline=23h"}},
			},
		},
		{
			name: "gone with a release older than the latest claim: not confirmed",
			steps: []step{
				{at: 0, status: F, op: call(OpClaim, -time.Hour), release: call(OpRelease, -2*time.Hour), want: []string{"FAILED operation deadline=23h"}},
				{at: 2 * h, status: G},
				{at: 3 * h, status: G, want: []string{"EXPIRED operation deadline=23h"}},
			},
		},
		// Rule 6: EXPIRED delivered means announced.
		{
			name: "EXPIRED delivered without FAILED: no FAILED after it, RECOVERED owed",
			steps: []step{
				{at: 0, status: C},
				{at: 30 * h, status: F, want: []string{"EXPIRED transition deadline=24h"}},
				{at: 31 * h, status: F},
				{at: 32 * h, status: C, want: []string{"RECOVERED transition deadline=24h"}},
			},
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			if tc.policy != nil {
				p = *tc.policy
			}
			run(t, p, tc.steps)
		})
	}
}

// TestDecideNotificationFacts checks what a notification carries besides its event: the number,
// the status and Connect's message word for word, and the facts of its kind.
func TestDecideNotificationFacts(t *testing.T) {
	p := DefaultPolicy()
	claimed := Observation{Number: testNumber, Status: Claimed, At: t0}
	failed := Observation{Number: testNumber, Status: Failed, Message: "Claim failed: \"number unavailable\"\n(retry)", At: t0.Add(10 * time.Minute)}

	rec, _ := Decide(nil, claimed, p)
	rec, notes := Decide(&rec, failed, p)
	if len(notes) != 1 {
		t.Fatalf("FAILED: got %d notifications, want 1", len(notes))
	}
	want := Notification{
		Event: EventFailed, Number: testNumber, Status: Failed, StatusMessage: failed.Message,
		ObservedAt: failed.At, FailedSince: failed.At, RetryDeadline: t0.Add(24 * time.Hour), Basis: BasisTransition,
		FailedAfter:   t0, // the CLAIMED check: the claim failed after it
		ID:            testNumber.ID + "/FAILED/" + fmt.Sprint(failed.At.Unix()) + "/" + fmt.Sprint(t0.Add(24*time.Hour).Unix()),
		Failure:       FailureUpdate, // seen CLAIMED before: an update failed
		LatestRelease: failed.At.Add(24 * time.Hour),
	}
	if !reflect.DeepEqual(notes[0], want) {
		t.Errorf("FAILED notification:\n got %+v\nwant %+v", notes[0], want)
	}
	if got, wantLeft := notes[0].TimeLeft(), 24*time.Hour-10*time.Minute; got != wantLeft {
		t.Errorf("TimeLeft = %v, want %v", got, wantLeft)
	}
	rec.MarkSent(notes[0])

	// Gone: the notification names the number by what the record kept, since a gone
	// observation carries only the ID.
	gone := Gone(Number{ID: testNumber.ID}, t0.Add(2*time.Hour))
	rec, notes = Decide(&rec, gone, p)
	if len(notes) != 0 {
		t.Fatalf("first gone check: got %v, want nothing until confirmed", notes)
	}
	gone.At = gone.At.Add(time.Hour)
	rec, notes = Decide(&rec, gone, p)
	if len(notes) != 1 || notes[0].Event != EventExpired {
		t.Fatalf("gone: got %v, want one EXPIRED", notes)
	}
	if notes[0].Number != testNumber || notes[0].Status != NotFound || notes[0].StatusMessage != "" {
		t.Errorf("EXPIRED for a gone number: number %+v status %q message %q; want the kept number, NOT_FOUND, no message",
			notes[0].Number, notes[0].Status, notes[0].StatusMessage)
	}
	if rec.Number != testNumber {
		t.Errorf("record after gone: number %+v, want the kept %+v", rec.Number, testNumber)
	}
	if rec.Retired() {
		t.Error("record retired before EXPIRED was marked sent")
	}
	rec.MarkSent(notes[0])
	if !rec.Retired() {
		t.Error("gone record with EXPIRED sent is not retired")
	}

	// STUCK carries the spell start and no episode facts.
	rec, _ = Decide(nil, Observation{Number: testNumber, Status: InProgress, Message: "in progress", At: t0}, p)
	_, notes = Decide(&rec, Observation{Number: testNumber, Status: InProgress, Message: "still", At: t0.Add(time.Hour)}, p)
	if len(notes) != 1 {
		t.Fatalf("STUCK: got %d notifications, want 1", len(notes))
	}
	wantStuck := Notification{Event: EventStuck, Number: testNumber, Status: InProgress, StatusMessage: "still",
		ObservedAt: t0.Add(time.Hour), InProgressSince: t0, ID: testNumber.ID + "/STUCK/" + fmt.Sprint(t0.Unix())}
	if !reflect.DeepEqual(notes[0], wantStuck) {
		t.Errorf("STUCK notification:\n got %+v\nwant %+v", notes[0], wantStuck)
	}
}

// TestDecideDoesNotMutate feeds Decide records in every shape it meets and checks that neither
// the record (nor the Episode it points to) nor the policy's reminders change, and that the
// returned record shares no Episode with its input.
func TestDecideDoesNotMutate(t *testing.T) {
	p := Policy{RetryWindow: 24 * time.Hour, Reminders: []time.Duration{time.Hour, 6 * time.Hour}, StuckAfter: 30 * time.Minute, NotifyRecovery: true}
	openEpisode := func() *Record {
		return &Record{Number: testNumber, Status: Failed, CheckedAt: t0, NotFailedAt: t0.Add(-time.Hour),
			Episode: &Episode{FailedSince: t0, Deadline: t0.Add(23 * time.Hour), Basis: BasisTransition, FailedSentAt: t0}}
	}
	endedEpisode := func() *Record {
		r := openEpisode()
		r.Status, r.NotFailedAt = Claimed, t0.Add(time.Hour)
		r.Episode.EndedAt = t0.Add(time.Hour)
		return r
	}
	inProgress := &Record{Number: testNumber, Status: InProgress, CheckedAt: t0, NotFailedAt: t0, InProgressSince: t0.Add(-time.Hour)}
	testCases := []struct {
		name string
		prev *Record
		obs  Status
		at   time.Duration
	}{
		{"open episode, still FAILED with a reminder due", openEpisode(), Failed, 19 * time.Hour},
		{"open episode, FAILED past the deadline", openEpisode(), Failed, 30 * time.Hour},
		{"open episode, now CLAIMED", openEpisode(), Claimed, 2 * time.Hour},
		{"open episode, now IN_PROGRESS", openEpisode(), InProgress, 2 * time.Hour},
		{"open episode, now gone", openEpisode(), NotFound, 2 * time.Hour},
		{"ended episode owing RECOVERED, FAILED again", endedEpisode(), Failed, 2 * time.Hour},
		{"ended episode owing RECOVERED, now gone", endedEpisode(), NotFound, 2 * time.Hour},
		{"IN_PROGRESS spell due for STUCK", inProgress, InProgress, time.Hour},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			before := *tc.prev
			var episodeBefore Episode
			if tc.prev.Episode != nil {
				episodeBefore = *tc.prev.Episode
			}
			remindersBefore := slices.Clone(p.Reminders)

			next, notes := Decide(tc.prev, observe(tc.obs, tc.at), p)
			for _, n := range notes {
				next.MarkSent(n)
			}

			if !reflect.DeepEqual(*tc.prev, before) {
				t.Errorf("record changed:\n got %+v\nwant %+v", *tc.prev, before)
			}
			if tc.prev.Episode != nil {
				if *tc.prev.Episode != episodeBefore {
					t.Errorf("episode changed:\n got %+v\nwant %+v", *tc.prev.Episode, episodeBefore)
				}
				if next.Episode == tc.prev.Episode {
					t.Error("returned record shares its Episode pointer with the input")
				}
			}
			if !slices.Equal(p.Reminders, remindersBefore) {
				t.Errorf("policy reminders changed: %v, want %v", p.Reminders, remindersBefore)
			}
		})
	}
}

// TestMarkSentOtherEpisode checks that a notification about an earlier episode marks nothing
// in a record that has moved on to a new one.
func TestMarkSentOtherEpisode(t *testing.T) {
	p := DefaultPolicy()
	rec, first := Decide(nil, observe(Failed, 0), p)
	rec, _ = Decide(&rec, observe(InProgress, time.Hour), p)
	rec, second := Decide(&rec, observe(Failed, 2*time.Hour), p)
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("got %d and %d notifications, want one FAILED each", len(first), len(second))
	}
	rec.MarkSent(first[0]) // the stale one
	if rec.Episode.Announced() {
		t.Fatal("a FAILED of the previous episode marked the new episode announced")
	}
	rec.MarkSent(second[0])
	if !rec.Episode.FailedSentAt.Equal(second[0].ObservedAt) {
		t.Errorf("FailedSentAt = %v, want %v", rec.Episode.FailedSentAt, second[0].ObservedAt)
	}
}
