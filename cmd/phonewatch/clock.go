package main

import (
	"fmt"
	"strings"
	"time"
)

// atHelp describes --at for every command that takes it.
const atHelp = "run as if at `TIME`: RFC 3339 (2026-11-27T05:00:00Z), an offset from now (+20h, -90m), or both (2026-11-26T06:00:00Z+19h)"

// The times --at accepts: from Amazon Connect's launch to a century on. Anything else is a
// typo (0001-01-01T00:00:00Z is Go's zero time), and a run there would decide nonsense.
var (
	earliestAt = time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
	latestAt   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// clockAt returns the run's clock: at is empty (now), an RFC 3339 time, ±<duration> from now,
// or <RFC 3339>±<duration> (a fixed time looked ahead or back from). An offset from now runs
// on from there; a clock set to a fixed time stands still at it, so that a run such as
// `make run AT=+19h` prints the same, to the notification ID, wherever and whenever it runs.
func clockAt(at string, now func() time.Time) (func() time.Time, error) {
	if at == "" {
		return now, nil
	}
	base, err := parseAt(at, now())
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(at, "+") || strings.HasPrefix(at, "-") {
		start := now()
		return func() time.Time { return base.Add(now().Sub(start)) }, nil
	}
	return func() time.Time { return base }, nil
}

// parseAt reads one --at value against the current time.
func parseAt(at string, now time.Time) (time.Time, error) {
	t, err := parseAtValue(at, now)
	if err != nil {
		return time.Time{}, err
	}
	if t.Before(earliestAt) || !t.Before(latestAt) {
		return time.Time{}, fmt.Errorf("%q is %s: give a time between 2017 (Amazon Connect's launch) and 2100",
			at, t.UTC().Format(time.RFC3339))
	}
	return t, nil
}

func parseAtValue(at string, now time.Time) (time.Time, error) {
	const forms = "RFC 3339 (2026-11-27T05:00:00Z), an offset (+20h, -90m), or both (2026-11-26T06:00:00Z+19h)"
	if strings.HasPrefix(at, "+") || strings.HasPrefix(at, "-") {
		d, err := offset(at[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", at, err)
		}
		if at[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		return t, nil
	}
	// The offset follows the last sign: an RFC 3339 zone such as +01:00 comes before it.
	i := strings.LastIndexAny(at, "+-")
	if i < 0 {
		return time.Time{}, fmt.Errorf("%q is none of %s", at, forms)
	}
	base, err := time.Parse(time.RFC3339, at[:i])
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is none of %s", at, forms)
	}
	d, err := offset(at[i+1:])
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", at, err)
	}
	if at[i] == '-' {
		d = -d
	}
	return base.Add(d), nil
}

// offset reads an unsigned Go duration: the sign is --at's own, so "+-1h" is refused.
func offset(s string) (time.Duration, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, fmt.Errorf("%q is not a duration such as 20h or 90m after the sign", s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 20h or 90m", s)
	}
	return d, nil
}
