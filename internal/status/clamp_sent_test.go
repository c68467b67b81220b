package status

import (
	"testing"
	"time"
)

// A reader whose clock is behind (an operator's laptop 13 minutes slow, within MaxSkew) clamps a
// record the Lambda wrote just after it sent the 1h REMINDER. The delivery stamps must survive:
// moved back to the laptop's clock, they made the same REMINDER due again, and the next
// scheduled run sent it twice under one notificationId (found by internal/sim, seed 1006238).
func TestClampKeepsDeliveries(t *testing.T) {
	p := DefaultPolicy()
	t0 := time.Date(2026, 11, 21, 4, 45, 0, 0, time.UTC)
	num := Number{ID: "00000000-0000-4000-8000-000000000001", E164: "+18005550100"}
	failed := func(at time.Time) Observation { return Observation{Number: num, Status: Failed, At: at} }

	rec, ns := Decide(nil, failed(t0), p)
	if len(ns) != 1 || ns[0].Event != EventFailed {
		t.Fatalf("first sight: %v, want FAILED", ns)
	}
	rec.MarkSent(ns[0])
	reminded := rec.Episode.Deadline.Add(-time.Hour).Add(8 * time.Second)
	rec, ns = Decide(&rec, failed(reminded), p)
	if len(ns) != 1 || ns[0].Event != EventReminder || ns[0].Reminder != time.Hour {
		t.Fatalf("an hour before the deadline: %v, want the 1h REMINDER", ns)
	}
	rec.MarkSent(ns[0])

	laptop := reminded.Add(-13*time.Minute - 45*time.Second)
	rec.Clamp(laptop, p)
	rec, ns = Decide(&rec, failed(laptop), p)
	if len(ns) != 0 {
		t.Fatalf("the laptop's check: %v, want nothing", ns)
	}
	if rec, ns = Decide(&rec, failed(reminded.Add(15*time.Minute)), p); len(ns) != 0 {
		t.Fatalf("the next scheduled run after the laptop's: %v, want nothing (the REMINDER was sent)", ns)
	}
	_ = rec
}
