package budget

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// ops returns n alternating claims and releases, one an hour from start, by caller by.
func ops(start time.Time, n int, by string) []Entry {
	out := make([]Entry, n)
	for i := range out {
		name := OpClaim
		if i%2 == 1 {
			name = OpRelease
		}
		out[i] = Entry{EventID: fmt.Sprintf("%s-%d-%d", by, start.Unix(), i), Name: name,
			At: start.Add(time.Duration(i) * time.Hour), By: by, Number: fmt.Sprintf("n%d", i)}
	}
	return out
}

func TestCountAWSExample(t *testing.T) {
	// Quota 99: release 99, claim 99, release 99 within 180 days is 297 > 198.
	var es []Entry
	es = append(es, ops(t0, 99, "a")...)
	es = append(es, ops(t0.Add(10*24*time.Hour), 99, "b")...)
	es = append(es, ops(t0.Add(20*24*time.Hour), 99, "c")...)
	r := Count(es, 99, t0.Add(-200*24*time.Hour), t0.Add(30*24*time.Hour))
	if r.Limit != 198 || r.Used != 297 || r.Level != 100 || r.LowerBound {
		t.Fatalf("got limit %d used %d level %d lowerBound %v", r.Limit, r.Used, r.Level, r.LowerBound)
	}
	if r.Left() != 0 || r.Percent() < 150 {
		t.Errorf("left %d percent %.1f", r.Left(), r.Percent())
	}
}

func TestCountWindowDedupAndOldest(t *testing.T) {
	at := t0.Add(Window)
	es := []Entry{
		{EventID: "old", Name: OpClaim, At: t0, By: "x"},                    // exactly 180 days: out
		{EventID: "in1", Name: OpRelease, At: t0.Add(time.Second), By: "x"}, // oldest counted
		{EventID: "in1", Name: OpRelease, At: t0.Add(time.Second), By: "x"}, // duplicate
		{EventID: "in2", Name: OpClaim, At: at.Add(-time.Hour), By: "y"},    //
		{EventID: "upd", Name: "UpdatePhoneNumber", At: at.Add(-time.Hour)}, // not counted
		{EventID: "fut", Name: OpClaim, At: at.Add(time.Minute), By: "y"},   // ahead of our clock: counted
	}
	r := Count(es, 5, time.Time{}, at)
	if r.Used != 3 {
		t.Fatalf("used %d, want 3", r.Used)
	}
	if !r.OldestCountedAt.Equal(t0.Add(time.Second)) || !r.NextSlotFreesAt.Equal(t0.Add(time.Second+Window)) {
		t.Errorf("oldest %v frees %v", r.OldestCountedAt, r.NextSlotFreesAt)
	}
	if !r.LowerBound {
		t.Error("a ledger with no complete start must be a lower bound")
	}
	if len(r.TopCallers) != 2 || r.TopCallers[0] != (Caller{"y", 2}) || r.TopCallers[1] != (Caller{"x", 1}) {
		t.Errorf("top callers %v", r.TopCallers)
	}
}

func TestCountTopCallersCapped(t *testing.T) {
	var es []Entry
	for i, who := range []string{"a", "b", "c", "d"} {
		es = append(es, ops(t0, 4-i, who)...)
	}
	r := Count(es, 100, t0.Add(-Window), t0.Add(time.Hour*10))
	if len(r.TopCallers) != TopCallers || r.TopCallers[0].By != "a" || r.TopCallers[2].By != "c" {
		t.Errorf("top callers %v", r.TopCallers)
	}
	if r.LowerBound {
		t.Error("a ledger complete for the whole window is exact")
	}
}

func TestLevel(t *testing.T) {
	for _, tc := range []struct{ used, limit, want int }{
		{7, 10, 0}, {8, 10, 75}, {9, 10, 90}, {10, 10, 100}, {12, 10, 100},
		{149, 198, 75}, {148, 198, 0}, {5, 0, 0},
	} {
		if got := Level(tc.used, tc.limit); got != tc.want {
			t.Errorf("Level(%d, %d) = %d, want %d", tc.used, tc.limit, got, tc.want)
		}
	}
}

// run decides with the report of used of 10 at minute i, and confirms what it announces when
// confirm is true.
func step(s State, used int, i int, confirm bool) (State, int, string) {
	r := Report{At: t0.Add(time.Duration(i) * time.Minute), Used: used, Limit: 10, Level: Level(used, 10)}
	next, th, id := Decide(s, r, "123456789012")
	if th != 0 && confirm {
		next.Sent(th)
	}
	return next, th, id
}

func TestDecideOncePerCrossing(t *testing.T) {
	var s State
	var th int
	s, th, _ = step(s, 7, 0, true)
	if th != 0 {
		t.Fatalf("7 of 10 announced %d", th)
	}
	s, th, _ = step(s, 8, 1, true)
	if th != 75 {
		t.Fatalf("8 of 10: got %d, want 75", th)
	}
	if s, th, _ = step(s, 8, 2, true); th != 0 {
		t.Fatalf("quiet repeat announced %d", th)
	}
	// A late run that finds 90 and 100 both crossed sends only the highest.
	if s, th, _ = step(s, 10, 3, true); th != 100 {
		t.Fatalf("10 of 10: got %d, want 100", th)
	}
	if s, th, _ = step(s, 10, 4, true); th != 0 {
		t.Fatalf("repeat at the limit announced %d", th)
	}
	// Falling below 75 re-arms; crossing again is announced again.
	if s, th, _ = step(s, 6, 5, true); th != 0 || s.Announced != 0 {
		t.Fatalf("fall: th %d announced %d", th, s.Announced)
	}
	if _, th, _ = step(s, 8, 6, true); th != 75 {
		t.Fatalf("second crossing: got %d, want 75", th)
	}
}

func TestDecideFallToLowerThresholdRearmsHigher(t *testing.T) {
	s := State{Announced: 100}
	s, th, _ := step(s, 8, 0, true)
	if th != 0 || s.Announced != 75 {
		t.Fatalf("fall to 75: th %d announced %d", th, s.Announced)
	}
	if _, th, _ = step(s, 9, 1, true); th != 90 {
		t.Fatalf("90 again: got %d", th)
	}
}

func TestDecideUnconfirmedKeepsID(t *testing.T) {
	s, th, id1 := step(State{}, 8, 0, false)
	if th != 75 || s.Pending == nil {
		t.Fatalf("th %d pending %v", th, s.Pending)
	}
	s, th, id2 := step(s, 8, 5, false)
	if th != 75 || id2 != id1 {
		t.Fatalf("repeat: th %d id %q, want 75 %q", th, id2, id1)
	}
	// Still unconfirmed when 90 is reached: the owed one is replaced by the highest.
	s, th, id3 := step(s, 9, 6, true)
	if th != 90 || id3 == id1 || s.Pending != nil || s.Announced != 90 {
		t.Fatalf("th %d id %q pending %v announced %d", th, id3, s.Pending, s.Announced)
	}
}
