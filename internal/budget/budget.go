// Package budget is the claim/release budget of an Amazon Connect account, as pure rules over
// a ledger of accepted ClaimPhoneNumber and ReleasePhoneNumber calls. Connect lets an account
// claim and release up to 200 % of its phone-number quota in a rolling 180 days, claims and
// releases counted together (with a quota of 99: release 99, claim 99, release 99 exceeds it);
// past that it blocks claiming until 180 days after the oldest counted operation, or a support
// case. CloudTrail's event history keeps 90 days, so the count comes from phonewatch's own
// ledger; while the ledger covers less than 180 days the count is a lower bound.
//
// The package imports nothing of AWS: Count and Decide are testable without a network.
package budget

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// WindowDays is Connect's rolling window, in days; Window is the same as a duration.
const (
	WindowDays = 180
	Window     = WindowDays * 24 * time.Hour
	// Multiplier: the limit is 200 % of the phone-number quota.
	Multiplier = 2
	// TopCallers is how many callers a report names.
	TopCallers = 3
)

// Operation names counted by the budget (the CloudTrail eventName values).
const (
	OpClaim   = "ClaimPhoneNumber"
	OpRelease = "ReleasePhoneNumber"
)

// Thresholds are the percentages of the limit that are announced, lowest first.
var Thresholds = []int{75, 90, 100}

// Entry is one accepted ClaimPhoneNumber or ReleasePhoneNumber: one line of the ledger.
type Entry struct {
	EventID string    // CloudTrail's eventID: the ledger holds each once
	Name    string    // OpClaim or OpRelease
	At      time.Time // the event time
	By      string    // the caller's ARN (userIdentity.arn), "" when unknown
	// Number is what the call names: the phone number ID, else its ARN, else E.164.
	Number string
}

// Caller is one caller's share of the window.
type Caller struct {
	By    string `json:"by"`
	Count int    `json:"count"`
}

// Report is the budget at one instant.
type Report struct {
	At    time.Time
	Quota int // the phone-number quota the limit comes from
	Limit int // Multiplier x Quota
	Used  int // accepted claims and releases in (At - Window, At], each once
	// Level is the highest threshold Used has reached (0: below the first).
	Level int
	// OldestCountedAt is the oldest counted operation (zero when none); NextSlotFreesAt is when
	// it leaves the window, which is when the count next goes down by itself.
	OldestCountedAt time.Time
	NextSlotFreesAt time.Time
	// LedgerSince is where the ledger starts to be complete (zero: not yet complete anywhere);
	// LowerBound says the window reaches before it, so Used may be short.
	LedgerSince time.Time
	LowerBound  bool
	TopCallers  []Caller
}

// Percent is Used as a percentage of Limit (0 when there is no limit).
func (r Report) Percent() float64 {
	if r.Limit <= 0 {
		return 0
	}
	return float64(r.Used) * 100 / float64(r.Limit)
}

// Left is how many claims and releases the window still allows (never negative).
func (r Report) Left() int { return max(0, r.Limit-r.Used) }

// Count counts the ledger at `at` against quota: every entry with an event time after
// at - Window, once by event ID (an entry stamped after `at` counts: CloudTrail's clock, not
// ours, says when Connect took the call). ledgerSince is where the ledger is complete from.
func Count(entries []Entry, quota int, ledgerSince, at time.Time) Report {
	r := Report{At: at, Quota: quota, Limit: Multiplier * max(quota, 0), LedgerSince: ledgerSince}
	start := at.Add(-Window)
	r.LowerBound = ledgerSince.IsZero() || ledgerSince.After(start)
	seen := make(map[string]bool, len(entries))
	by := map[string]int{}
	for _, e := range entries {
		if !e.At.After(start) || seen[e.EventID] || (e.Name != OpClaim && e.Name != OpRelease) {
			continue
		}
		seen[e.EventID] = true
		r.Used++
		by[e.By]++
		if r.OldestCountedAt.IsZero() || e.At.Before(r.OldestCountedAt) {
			r.OldestCountedAt = e.At
		}
	}
	if !r.OldestCountedAt.IsZero() {
		r.NextSlotFreesAt = r.OldestCountedAt.Add(Window)
	}
	r.Level = Level(r.Used, r.Limit)
	for who, n := range by {
		r.TopCallers = append(r.TopCallers, Caller{By: who, Count: n})
	}
	slices.SortFunc(r.TopCallers, func(a, b Caller) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.By, b.By))
	})
	if len(r.TopCallers) > TopCallers {
		r.TopCallers = r.TopCallers[:TopCallers]
	}
	return r
}

// Level is the highest threshold that used reaches of limit, 0 when none (or no limit).
func Level(used, limit int) int {
	level := 0
	for _, t := range Thresholds {
		if limit > 0 && used*100 >= t*limit {
			level = t
		}
	}
	return level
}

// State is what the account's budget item keeps between runs: what was announced.
type State struct {
	// Announced is the highest threshold announced (SNS confirmed) in the current crossing; it
	// falls with the count, so that crossing a threshold again is announced again.
	Announced int
	// Pending is the announcement decided but not yet confirmed: its repeats keep its ID.
	Pending *Pending
}

// Pending is a BUDGET notification owed.
type Pending struct {
	Threshold int
	ID        string
	Since     time.Time // when it was first decided
}

// Decide is the pure decision of one run: given what was announced and the report, the
// state to keep and the threshold to announce now (0: nothing). Each threshold is announced
// once per crossing; a run that finds several crossed at once announces only the highest; a
// count that falls below a threshold re-arms it. An owed announcement keeps its ID until it
// is confirmed or no longer applies.
func Decide(prev State, r Report, account string) (State, int, string) {
	next := State{Announced: min(prev.Announced, r.Level)}
	if r.Level <= next.Announced {
		return next, 0, "" // nothing new: a quiet repeat, or a fall that re-arms
	}
	p := prev.Pending
	if p == nil || p.Threshold != r.Level {
		p = &Pending{Threshold: r.Level, Since: r.At}
		p.ID = NotificationID(account, r.Level, r.At)
	}
	next.Pending = p
	return next, p.Threshold, p.ID
}

// Sent records in s that the announcement of threshold was confirmed.
func (s *State) Sent(threshold int) {
	s.Announced = max(s.Announced, threshold)
	if s.Pending != nil && s.Pending.Threshold <= s.Announced {
		s.Pending = nil
	}
}

// NotificationID is the notificationId of a BUDGET: the account, the threshold and when the
// crossing was first decided, so that a repeat has the same ID and a new crossing another.
func NotificationID(account string, threshold int, since time.Time) string {
	return cmp.Or(account, "account") + "/BUDGET/" + strconv.Itoa(threshold) + "/" +
		strconv.FormatInt(since.Unix(), 10)
}

// Notice is what a BUDGET notification says: the account, the threshold reached and the
// report behind it.
type Notice struct {
	Account, Region string
	Threshold       int
	Report          Report
	// QuotaSource says where the quota came from (PHONE_NUMBER_QUOTA or Service Quotas).
	QuotaSource string
}
