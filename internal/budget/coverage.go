package budget

import "time"

// Retention is how far back CloudTrail's event history goes: a back-fill reads no further.
const Retention = 90 * 24 * time.Hour

// Coverage is how much of CloudTrail's history the ledger holds: complete from Since to To,
// except the ranges a Backfill still has to read. It is kept between runs, so that a back-fill
// that needs more pages than one run may read goes on in the next.
type Coverage struct {
	// Since is where the ledger is complete from; zero until the first back-fill has ended
	// (and again after a gap CloudTrail no longer holds).
	Since time.Time `json:"since,omitzero"`
	// To is where the last forward read ended: the next one starts there, less an overlap.
	To time.Time `json:"to,omitzero"`
	// Backfill is what is still to be read, nil when nothing is.
	Backfill *Backfill `json:"backfill,omitempty"`
}

// Backfill is a range still to read, per operation name: [From, Down[name]], read newest
// first, so Down moves back as pages are read; a name whose Down is not after From is done.
type Backfill struct {
	From time.Time            `json:"from"`
	Down map[string]time.Time `json:"down"`
}

// Names are the operations the ledger reads, each its own lookup (CloudTrail takes one
// attribute per lookup).
var Names = []string{OpRelease, OpClaim}

// Read is one lookup a run makes: the accepted calls Name with an event time in [From, To].
type Read struct {
	Name     string
	From, To time.Time
	Backfill bool // reads Backfill's range (else the forward range from To)
}

// Plan returns the coverage to start from at now and the reads to make: a first run (or one
// after a gap CloudTrail no longer holds) back-fills everything CloudTrail keeps; later runs
// read forward from To less overlap, then whatever back-fill is left.
func (c Coverage) Plan(now time.Time, overlap time.Duration) (Coverage, []Read) {
	floor := now.Add(-Retention)
	if c.To.IsZero() || c.To.Before(floor) {
		c = Coverage{To: now, Backfill: newBackfill(floor, now)}
	} else {
		c.Backfill = c.Backfill.clone()
	}
	if b := c.Backfill; b != nil && b.From.Before(floor) {
		b.From, c.Since = floor, time.Time{} // older than CloudTrail keeps: that stretch is lost
	}
	var reads []Read
	if from := c.To.Add(-overlap); from.Before(now) && (c.Backfill == nil || c.To.Before(now)) {
		from = maxTime(from, floor)
		for _, n := range Names {
			reads = append(reads, Read{Name: n, From: from, To: now})
		}
	}
	if b := c.Backfill; b != nil {
		for _, n := range Names {
			if d, ok := b.Down[n]; ok && d.After(b.From) {
				reads = append(reads, Read{Name: n, From: b.From, To: d, Backfill: true})
			}
		}
	}
	return c, reads
}

// Done records the outcome of read r: complete, or read down to `down` (the oldest event
// time seen; r.To when nothing was read) before a page limit or an error stopped it. What a
// forward read left unread becomes back-fill.
func (c *Coverage) Done(r Read, complete bool, down time.Time) {
	if complete {
		down = r.From
	}
	down = minTime(maxTime(down, r.From), r.To)
	if r.Backfill {
		if c.Backfill != nil {
			c.Backfill.Down[r.Name] = down
		}
		return
	}
	c.To = maxTime(c.To, r.To)
	if complete {
		return
	}
	if c.Backfill == nil {
		c.Backfill = &Backfill{From: r.From, Down: map[string]time.Time{}}
		for _, n := range Names {
			c.Backfill.Down[n] = r.From
		}
	}
	b := c.Backfill
	b.From = minTime(b.From, r.From)
	b.Down[r.Name] = maxTime(b.Down[r.Name], down)
}

// Finish ends a run's reads: a back-fill whose every name is done is over, and the ledger is
// complete from its start (or stays complete from where it was).
func (c *Coverage) Finish() {
	b := c.Backfill
	if b == nil {
		return
	}
	for _, n := range Names {
		if d, ok := b.Down[n]; ok && d.After(b.From) {
			return
		}
	}
	if c.Since.IsZero() || b.From.Before(c.Since) {
		c.Since = b.From
	}
	c.Backfill = nil
}

func newBackfill(from, to time.Time) *Backfill {
	b := &Backfill{From: from, Down: map[string]time.Time{}}
	for _, n := range Names {
		b.Down[n] = to
	}
	return b
}

func (b *Backfill) clone() *Backfill {
	if b == nil {
		return nil
	}
	c := &Backfill{From: b.From, Down: make(map[string]time.Time, len(b.Down))}
	for k, v := range b.Down {
		c.Down[k] = v
	}
	return c
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// CompleteSince is where the count is complete from: Since, or zero while a back-fill is
// still open (the ledger has a hole, so any count is a lower bound).
func (c Coverage) CompleteSince() time.Time {
	if c.Backfill != nil {
		return time.Time{}
	}
	return c.Since
}

// Account is the account-level budget item of the state store: the ledger's coverage and the
// announcements, under an optimistic Version like every record (0: none stored yet).
type Account struct {
	Version  int64    `json:"-"`
	Coverage Coverage `json:"coverage"`
	State    State    `json:"state"`
	// Quota is the phone-number quota the last count used, and QuotaSource where it came
	// from: `phonewatch status` counts with them without asking AWS.
	Quota       int    `json:"quota,omitempty"`
	QuotaSource string `json:"quotaSource,omitempty"`
}
