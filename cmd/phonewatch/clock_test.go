package main

import (
	"testing"
	"time"
)

// TestClockAt: a fixed --at stands still (reproducible output, to the notification ID); an
// offset from now runs on with the real clock.
func TestClockAt(t *testing.T) {
	real := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tick := func() time.Time { real = real.Add(time.Second); return real }
	sample := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	testCases := []struct {
		at         string
		first      time.Time
		standStill bool
	}{
		{"2026-11-26T06:00:00Z", sample, true},
		{"2026-11-26T06:00:00Z+19h", sample.Add(19 * time.Hour), true},
		{"2026-11-26T07:00:00+01:00", sample, true},
		{"+1h", time.Time{}, false},
	}
	for _, tc := range testCases {
		clock, err := clockAt(tc.at, tick)
		if err != nil {
			t.Fatalf("%s: %v", tc.at, err)
		}
		a, b := clock(), clock()
		if !tc.first.IsZero() && !a.Equal(tc.first) {
			t.Errorf("%s: first reading %s, want %s", tc.at, a, tc.first)
		}
		if got := a.Equal(b); got != tc.standStill {
			t.Errorf("%s: two readings %s and %s; standing still = %v, want %v", tc.at, a, b, got, tc.standStill)
		}
	}
	for _, bad := range []string{"tomorrow", "+1 day", "2026-11-26+3h"} {
		if _, err := clockAt(bad, tick); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
