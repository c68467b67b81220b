package main

import (
	"fmt"
	"strings"
	"time"
)

// atHelp describes --at for every command that takes it.
const atHelp = "run as if at `TIME`: RFC 3339 (2026-11-27T05:00:00Z), an offset from now (+20h, +90m), or both (2026-11-26T06:00:00Z+19h)"

// clockAt returns the run's clock: at is empty (now), an RFC 3339 time, +<duration> from now,
// or <RFC 3339>+<duration> (a fixed time looked ahead from). An offset from now runs on from
// there; a clock set to a fixed time stands still at it, so that a run such as
// `make run AT=+19h` prints the same, to the notification ID, wherever and whenever it runs.
func clockAt(at string, now func() time.Time) (func() time.Time, error) {
	if at == "" {
		return now, nil
	}
	base, err := parseAt(at, now())
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(at, "+") {
		start := now()
		return func() time.Time { return base.Add(now().Sub(start)) }, nil
	}
	return func() time.Time { return base }, nil
}

// parseAt reads one --at value against the current time.
func parseAt(at string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		return t, nil
	}
	// The offset follows the last '+': an RFC 3339 zone such as +01:00 comes before it.
	i := strings.LastIndexByte(at, '+')
	if i < 0 {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-11-27T05:00:00Z) nor +<duration> (+20h)", at)
	}
	d, err := time.ParseDuration(at[i+1:])
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %q is not a Go duration such as 20h or 90m", at, at[i+1:])
	}
	if i == 0 {
		return now.Add(d), nil
	}
	base, err := time.Parse(time.RFC3339, at[:i])
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %q is not an RFC 3339 time such as 2026-11-26T06:00:00Z", at, at[:i])
	}
	return base.Add(d), nil
}
