package status

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// play runs observations through Decide, marking everything sent, and returns the last record
// and the notifications of the last observation.
func play(t *testing.T, p Policy, obs ...Observation) (Record, []Notification) {
	t.Helper()
	var prev *Record
	var notes []Notification
	for _, o := range obs {
		var next Record
		next, notes = Decide(prev, o, p)
		for _, n := range notes {
			next.MarkSent(n)
		}
		prev = &next
	}
	return *prev, notes
}

// withOp is o with CloudTrail's operation op.
func withOp(o Observation, op *Operation) Observation {
	o.Operation = op
	return o
}

// Rule 4: which kind of operation failed.
func TestDecideFailureKind(t *testing.T) {
	h := time.Hour
	testCases := []struct {
		name string
		obs  []Observation
		want Failure
	}{
		{"first sight, no operation", []Observation{observe(Failed, 0)}, FailureUnknown},
		{"after CLAIMED, no operation: an update", []Observation{observe(Claimed, 0), observe(Failed, h)}, FailureUpdate},
		{"after IN_PROGRESS, no operation", []Observation{observe(InProgress, 0), observe(Failed, h)}, FailureUnknown},
		// Issue 17 (5): a claim before the failure may have succeeded, and a change made in the
		// admin website (never in CloudTrail) failed after it: the kind is not proven.
		{"claim known, never seen CLAIMED", []Observation{withOp(observe(Failed, 0), call(OpClaim, -h))}, FailureUnknown},
		{"update known at first sight", []Observation{withOp(observe(Failed, 0), call(OpUpdate, -h))}, FailureUpdate},
		{"failed update known", []Observation{observe(Claimed, 0), withOp(observe(Failed, h), call(OpUpdate, h/2))}, FailureUpdate},
		{"claim still in progress at the check before", []Observation{withOp(observe(InProgress, 0), call(OpClaim, -h/2)), observe(Failed, h)}, FailureUnknown},
		{"chain keeps its kind", []Observation{observe(Claimed, 0), observe(Failed, h), observe(InProgress, 2*h), observe(Failed, 3*h)}, FailureUpdate},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			rec, notes := play(t, DefaultPolicy(), tc.obs...)
			if rec.Episode == nil || rec.Episode.Failure != tc.want {
				t.Fatalf("episode %+v, want failure %q", rec.Episode, tc.want)
			}
			if len(notes) != 1 || notes[0].Failure != tc.want {
				t.Errorf("notifications %+v, want one FAILED with failure %q", notes, tc.want)
			}
		})
	}
}

// Rule 2: the facts of an operation-based FAILED.
func TestDecideOperationFacts(t *testing.T) {
	op := call(OpUpdate, 20*time.Minute)
	_, notes := play(t, DefaultPolicy(), observe(Claimed, 0), withOp(observe(Failed, 30*time.Minute), op))
	if len(notes) != 1 {
		t.Fatalf("got %v, want one FAILED", notes)
	}
	n := notes[0]
	switch {
	case n.Basis != BasisOperation || !n.RetryDeadline.Equal(op.At.Add(24*time.Hour)):
		t.Errorf("basis %s deadline %v, want operation %v", n.Basis, n.RetryDeadline, op.At.Add(24*time.Hour))
	case !reflect.DeepEqual(n.Operation, op):
		t.Errorf("operation %+v, want %+v", n.Operation, op)
	case !n.LatestRelease.Equal(t0.Add(24*time.Hour + 30*time.Minute)):
		t.Errorf("latest release %v, want first FAILED sight + window", n.LatestRelease)
	case n.Failure != FailureUpdate:
		t.Errorf("failure %q, want update", n.Failure)
	}
}

// Rule 5: an unconfirmed gone check keeps everything but the check time; a found one clears it.
func TestDecideUnconfirmedGone(t *testing.T) {
	p := DefaultPolicy()
	failed, _ := play(t, p, observe(Claimed, 0), observe(Failed, time.Hour))
	gone, notes := Decide(&failed, observe(NotFound, 2*time.Hour), p)
	if len(notes) != 0 {
		t.Fatalf("unconfirmed gone sent %v", notes)
	}
	if gone.Status != Failed || !gone.NotFoundAt.Equal(t0.Add(2*time.Hour)) || !gone.CheckedAt.Equal(t0.Add(2*time.Hour)) ||
		!gone.NotFailedAt.Equal(failed.NotFailedAt) || !reflect.DeepEqual(gone.Episode, failed.Episode) {
		t.Errorf("after one 404: %+v\nwant status, episode and notFailedAt of %+v, notFoundAt and checkedAt +2h", gone, failed)
	}
	back, _ := Decide(&gone, observe(Failed, 3*time.Hour), p)
	if !back.NotFoundAt.IsZero() {
		t.Errorf("found again: notFoundAt %v, want zero", back.NotFoundAt)
	}

	// Confirmed by a release: EXPIRED names it and the last FAILED sight.
	rel := call(OpRelease, 150*time.Minute)
	o := observe(NotFound, 3*time.Hour)
	o.Release = rel
	rec, notes := Decide(&gone, o, p)
	if len(notes) != 1 || notes[0].Event != EventExpired || !reflect.DeepEqual(notes[0].Release, rel) ||
		!notes[0].LastFailedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("gone after a release: %+v, want EXPIRED with the release and last FAILED at +1h", notes)
	}
	if rec.Status != NotFound || !rec.NotFoundAt.IsZero() {
		t.Errorf("confirmed gone: status %s notFoundAt %v", rec.Status, rec.NotFoundAt)
	}
}

// Rule 7: the record keeps the newest operations; a number found after its release was claimed
// again.
func TestDecideKeepsOperations(t *testing.T) {
	p := DefaultPolicy()
	newer, older := call(OpUpdate, 10*time.Minute), call(OpClaim, 5*time.Minute)
	rec, _ := play(t, p, withOp(observe(Claimed, 0), newer), withOp(observe(Claimed, 20*time.Minute), older))
	if !reflect.DeepEqual(rec.Operation, newer) {
		t.Errorf("operation %+v, want the newer %+v", rec.Operation, newer)
	}
	o := observe(NotFound, 30*time.Minute)
	o.Release = call(OpRelease, 25*time.Minute)
	rec, _ = play(t, p, withOp(observe(Claimed, 0), newer), o)
	if rec.Release == nil || rec.Status != NotFound {
		t.Fatalf("release not kept or gone not confirmed: %+v", rec)
	}
	rec, _ = Decide(&rec, observe(Claimed, time.Hour), p)
	if rec.Release != nil || rec.Episode != nil {
		t.Errorf("back after release: release %+v episode %+v, want both cleared", rec.Release, rec.Episode)
	}
	if rec.Format != RecordFormat {
		t.Errorf("format %d, want %d", rec.Format, RecordFormat)
	}
}

// Rule 8: IDs are stable for one notification and distinct across the others.
func TestNotificationIDs(t *testing.T) {
	p := DefaultPolicy()
	var prev *Record
	seen := map[string]string{} // ID -> description
	decideAll := func(o Observation, mark bool) []Notification {
		next, notes := Decide(prev, o, p)
		for _, n := range notes {
			if d, ok := seen[n.ID]; ok && d != describe(n) {
				t.Errorf("ID %q for both %q and %q", n.ID, d, describe(n))
			}
			seen[n.ID] = describe(n)
			if !strings.HasPrefix(n.ID, testNumber.ID+"/"+string(n.Event)+"/") {
				t.Errorf("ID %q does not name the number and event", n.ID)
			}
			if mark {
				next.MarkSent(n)
			}
		}
		prev = &next
		return notes
	}
	first := decideAll(observe(Failed, 0), false)
	again := decideAll(observe(Failed, time.Minute), true)
	if first[0].ID != again[0].ID {
		t.Errorf("re-decided FAILED: ID %q, then %q", first[0].ID, again[0].ID)
	}
	decideAll(observe(Failed, 18*time.Hour), true)
	decideAll(observe(InProgress, 19*time.Hour), true)
	decideAll(observe(Failed, 20*time.Hour), true)
	decideAll(observe(Failed, 23*time.Hour), true)
	decideAll(observe(Failed, 24*time.Hour), true)
	decideAll(observe(Claimed, 25*time.Hour), true)
	if len(seen) != 6 {
		t.Errorf("got %d distinct IDs, want 6 (FAILED, REMINDER 6h, chain FAILED, REMINDER 1h, EXPIRED, RECOVERED): %v", len(seen), seen)
	}
	if !slices.ContainsFunc(slices.Collect(mapKeys(seen)), func(id string) bool { return strings.Contains(id, "/6h/") }) {
		t.Errorf("no REMINDER ID names its offset: %v", seen)
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestFormatOffset(t *testing.T) {
	for d, want := range map[time.Duration]string{
		6 * time.Hour: "6h", 90 * time.Minute: "1h30m", 30 * time.Minute: "30m", 4 * time.Second: "4s",
		150 * time.Second: "2m30s", 5 * time.Second / 2: "2.5s", 0: "0s",
	} {
		if got := FormatOffset(d); got != want {
			t.Errorf("FormatOffset(%v) = %q, want %q", d, got, want)
		}
	}
}

// Rule 9: an attempted notification is decided again with the same ID until marked sent, and
// Attempted stays small.
func TestAttempted(t *testing.T) {
	p := DefaultPolicy()
	rec, notes := Decide(nil, observe(Failed, 0), p)
	id := notes[0].ID
	rec.NoteAttempted(id)
	rec.NoteAttempted(id)
	if len(rec.Attempted) != 1 || !rec.WasAttempted(id) {
		t.Fatalf("attempted %v, want [%s] once", rec.Attempted, id)
	}
	again, notes := Decide(&rec, observe(Failed, time.Minute), p)
	if len(notes) != 1 || notes[0].ID != id || !again.WasAttempted(id) {
		t.Fatalf("re-decided %v with attempted %v: want the same ID, still attempted", notes, again.Attempted)
	}
	again.MarkSent(notes[0])
	if again.WasAttempted(id) {
		t.Errorf("attempted %v after MarkSent", again.Attempted)
	}

	// An attempted FAILED of an episode that ended is dropped when the next one starts.
	rec.NoteAttempted("unrelated")
	rec, _ = Decide(&rec, observe(InProgress, time.Hour), p)
	if !rec.WasAttempted(id) {
		t.Errorf("attempted %v: the FAILED of an episode that ended but may still owe RECOVERED was dropped", rec.Attempted)
	}
	rec, _ = Decide(&rec, observe(Failed, 2*time.Hour), p)
	if len(rec.Attempted) != 0 {
		t.Errorf("attempted %v after a new episode began, want empty", rec.Attempted)
	}
}

// Rule 10: a claim longer than any run can hold is void.
func TestClaimedByOther(t *testing.T) {
	now := t0
	testCases := []struct {
		name  string
		by    string
		until time.Time
		want  bool
	}{
		{"held by another run", "other", now.Add(10 * time.Minute), true},
		{"held by this run", "me", now.Add(10 * time.Minute), false},
		{"expired", "other", now.Add(-time.Second), false},
		{"at the longest a run can hold", "other", now.Add(MaxClaim), true},
		{"longer than any run can hold", "other", now.Add(MaxClaim + time.Second), false},
		{"until 2099", "other", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), false},
	}
	for _, tc := range testCases {
		r := Record{ClaimedBy: tc.by, ClaimUntil: tc.until}
		if got := r.ClaimedByOther("me", now); got != tc.want {
			t.Errorf("%s: ClaimedByOther = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Rule 11: clone shares nothing with its source.
func TestCloneIsDeep(t *testing.T) {
	r := Record{
		Number: testNumber, Status: Failed, CheckedAt: t0,
		Episode:   &Episode{FailedSince: t0, Deadline: t0, Operation: call(OpClaim, 0)},
		Operation: call(OpClaim, 0), Release: call(OpRelease, 0), Attempted: []string{"a"},
	}
	c := r.clone()
	c.Episode.Operation.By, c.Operation.By, c.Release.By, c.Attempted[0] = "x", "x", "x", "x"
	c.Episode.Deadline = t0.Add(time.Hour)
	if r.Episode.Operation.By == "x" || r.Operation.By == "x" || r.Release.By == "x" || r.Attempted[0] == "x" || !r.Episode.Deadline.Equal(t0) {
		t.Errorf("changing the clone changed the source: %+v", r)
	}
}

// Rule 12: records a store hands over that the decision cannot trust.
func TestRecordCheck(t *testing.T) {
	now := t0
	good := func() Record {
		return Record{Number: testNumber, Status: Failed, CheckedAt: now.Add(-time.Minute), Version: 3, Format: RecordFormat + 1,
			Episode: &Episode{FailedSince: now.Add(-time.Hour), Deadline: now.Add(-30 * time.Hour), FailedAfter: now.Add(-2 * time.Hour)}}
	}
	testCases := []struct {
		name      string
		edit      func(*Record)
		wantField string // "" when valid
	}{
		{"valid, newer format, deadline before failedSince", func(*Record) {}, ""},
		{"never checked", func(r *Record) { *r = Record{Number: testNumber} }, ""},
		{"negative version", func(r *Record) { r.Version = -1 }, "version"},
		{"unknown status", func(r *Record) { r.Status = "failed" }, "status"},
		{"status without a check", func(r *Record) { r.CheckedAt = time.Time{} }, "checkedAt"},
		// Issue 17 (4): a host whose clock ran ahead wrote it; Clamp brings it back, it is not invalid.
		{"checked in the future", func(r *Record) { r.CheckedAt = now.Add(MaxSkew + time.Hour) }, ""},
		{"episode without failedSince", func(r *Record) { r.Episode.FailedSince = time.Time{} }, "episode.failedSince"},
		{"episode without deadline", func(r *Record) { r.Episode.Deadline = time.Time{} }, "episode.retryDeadline"},
		{"failedAfter after failedSince", func(r *Record) { r.Episode.FailedAfter = now }, "episode.failedAfter"},
		{"latest release before deadline", func(r *Record) { r.Episode.LatestRelease = now.Add(-31 * time.Hour) }, "episode.latestRelease"},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.edit(&r)
			err := r.Check(now)
			switch {
			case tc.wantField == "" && err != nil:
				t.Errorf("valid record rejected: %v", err)
			case tc.wantField != "" && (!errors.Is(err, ErrBadRecord) || !strings.Contains(err.Error(), " "+tc.wantField+":")):
				t.Errorf("got %v, want an ErrBadRecord naming %s", err, tc.wantField)
			}
		})
	}
}
