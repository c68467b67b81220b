package status_test

import (
	"fmt"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// A number seen CLAIMED and then FAILED: Decide announces FAILED with a deadline bounded from
// the CLAIMED check (basis transition). Once the caller marks it sent, the next run is quiet
// until a reminder falls due.
func ExampleDecide() {
	p := status.DefaultPolicy()
	n := status.Number{ID: "0f2c3a4b-1d2e-4f50-8a9b-0c1d2e3f4a5b", E164: "+18005550100"}
	t := time.Date(2026, 11, 26, 5, 35, 0, 0, time.UTC)

	rec, notes := status.Decide(nil, status.Observation{Number: n, Status: status.Claimed, At: t}, p)
	fmt.Println("05:35 CLAIMED:", len(notes), "notifications")

	rec, notes = status.Decide(&rec, status.Observation{
		Number: n, Status: status.Failed, Message: "Phone number claim failed", At: t.Add(5 * time.Minute),
	}, p)
	for _, note := range notes {
		fmt.Printf("05:40 FAILED: %s %s, retry before %s (%s, %v left)\n", note.Event, note.Number.E164,
			note.RetryDeadline.Format("2006-01-02 15:04 MST"), note.Basis, note.TimeLeft())
		rec.MarkSent(note) // only once the publisher accepted it
	}

	_, notes = status.Decide(&rec, status.Observation{Number: n, Status: status.Failed, At: t.Add(10 * time.Minute)}, p)
	fmt.Println("05:45 FAILED:", len(notes), "notifications")

	// Output:
	// 05:35 CLAIMED: 0 notifications
	// 05:40 FAILED: FAILED +18005550100, retry before 2026-11-27 05:35 UTC (transition, 23h55m0s left)
	// 05:45 FAILED: 0 notifications
}
