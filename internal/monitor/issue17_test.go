package monitor_test

import (
	"testing"
	"time"
)

// TestIssue17FutureRecordIsClamped (issue 17, 4): a host whose clock runs an hour fast (an
// operator's laptop) checked a number CLAIMED; the Lambda, on the right clock, then sees it
// FAILED. Its record is not "not in phonewatch's format", its real check is not stale: FAILED
// goes out, and its deadline is not bounded from the future check (first sight + window).
func TestIssue17FutureRecordIsClamped(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	id := ids(7, 1)[0]
	e.put("CLAIMED", id)
	fast := e.monitor()
	fast.Now = func() time.Time { return e.clock.Now().Add(time.Hour) }
	e.run(fast, 20*time.Second)

	e.set("FAILED", id)
	sum := e.run(e.monitor(), 20*time.Second)
	if len(sum.Errors) > 0 || sum.InvalidRecords > 0 {
		t.Fatalf("run on the right clock: errors %+v", sum.Errors)
	}
	got := e.received()
	if len(got) != 1 || got[0].Event != "FAILED" || got[0].DeadlineBasis != "first-observation" {
		t.Fatalf("got %+v, want one FAILED, basis first-observation", got)
	}
	deadline, err := time.Parse(time.RFC3339, got[0].RetryDeadline)
	if err != nil {
		t.Fatal(err)
	}
	if latest := e.clock.Now().Add(24 * time.Hour); deadline.After(latest) {
		t.Errorf("deadline %v later than now + window %v", deadline, latest)
	}
}
