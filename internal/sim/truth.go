// Package sim is a simulated world that judges phonewatch: Amazon Connect numbers with true
// histories (claims, updates, retries, releases, each with a true outcome time), CloudTrail
// that shows each call after a random lag or never, transient 404s and errors, clocks with
// bounded skew, overlapping and partial runs, SNS outages and lost answers. The real monitor
// (internal/monitor) and domain (internal/status) run in it through in-process
// implementations of the monitor's ports, and every notification that reaches SNS is judged
// against the truth (see Judge). A world is a function of its seed alone, so that a failing
// seed replays exactly.
package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// Start is the true time a world begins; its runs and calls are hours or days after it.
var Start = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// The world's two Connect instances (numbers move between them by UpdatePhoneNumber).
const (
	instanceA = "arn:aws:connect:us-east-1:123456789012:instance/aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa"
	instanceB = "arn:aws:connect:us-east-1:123456789012:instance/bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb"
)

// The callers: CloudTrail names them; calls made in the admin website are not in CloudTrail.
const (
	alice = "arn:aws:iam::123456789012:user/alice"
	bob   = "arn:aws:iam::123456789012:user/bob"
)

// hugeBob is bob's ARN in a world whose CloudTrail values are hostile: 32 KB.
var hugeBob = "arn:aws:sts::123456789012:assumed-role/" + strings.Repeat("b", 32*1024) + "/bob"

// call is one true Connect call on a number.
type call struct {
	name    string    // status.OpClaim, OpUpdate or OpRelease
	at      time.Time // the call, as CloudTrail's eventTime states it (AWS's clock is the truth)
	outcome time.Time // end of IN_PROGRESS (Claim/Update); at for a release
	failed  bool      // the outcome is FAILED
	by      string    // caller ARN
	website bool      // made in the admin website: never in CloudTrail
	appear  time.Time // when CloudTrail's event history shows it; zero: never
	eventID string
	target  string
}

// failure is one true failure of a Claim/Update: FAILED from its call's outcome until the
// next call (a retry) or the release at at + window.
type failure struct {
	call  int       // index in number.calls
	at    time.Time // the true failure time (the call's outcome)
	chain int       // failures with no CLAIMED in between share a chain
}

// number is one Connect number and its true history.
type number struct {
	id, arn, e164 string
	calls         []call
	failures      []failure
	// exists is the first claim's call; gone is when the number left the account (released by
	// its owner or by Connect at failure + window), zero if it stays.
	exists, gone time.Time
	goneExpired  bool // gone because a failure's window ran out
	// hiddenWhenFailed: ListPhoneNumbersV2 leaves the number out while it is FAILED (users report
	// that a failed claim may be missing from the listing).
	hiddenWhenFailed bool
	home             string // the target of its first claim
	// flaps are short spells in which Connect answers ResourceNotFound for the number although
	// it has it (eventual consistency, an incident): each shorter than half a schedule period,
	// so that two 404s a period apart are never both transient.
	flaps []spell
}

// spell is a true time interval [from, to).
type spell struct{ from, to time.Time }

func (s spell) has(t time.Time) bool { return !t.Before(s.from) && t.Before(s.to) }

// truth is the state of a number at a true time.
type truth struct {
	exists     bool // false: Connect answers ResourceNotFound
	status     status.Status
	target     string
	callIdx    int // the latest Claim/Update at or before the time, -1 if none
	failureIdx int // the latest failure at or before the time, -1 if none
}

func (n *number) at(t time.Time) truth {
	tr := truth{callIdx: -1, failureIdx: -1, target: n.home}
	for i, f := range n.failures {
		if !f.at.After(t) {
			tr.failureIdx = i
		}
	}
	if t.Before(n.exists) || (!n.gone.IsZero() && !t.Before(n.gone)) {
		return tr
	}
	tr.exists = true
	for i, c := range n.calls {
		if c.name == status.OpRelease || c.at.After(t) {
			continue
		}
		tr.callIdx = i
	}
	c := n.calls[tr.callIdx]
	tr.target = c.target
	switch {
	case t.Before(c.outcome):
		tr.status = status.InProgress
		// The target before the move is still the number's while the update runs.
		for i := tr.callIdx - 1; i >= 0; i-- {
			if n.calls[i].name != status.OpRelease && !n.calls[i].failed {
				tr.target = n.calls[i].target
				break
			}
		}
	case c.failed:
		tr.status = status.Failed
	default:
		tr.status = status.Claimed
	}
	return tr
}

// params are one world's knobs, drawn from its seed.
type params struct {
	window    time.Duration
	reminders []time.Duration
	period    time.Duration // the schedule
	days      int
	// targets: the configured TARGET_ARNS (empty: the whole account); numbers of other targets
	// are watched from a check request.
	targets []string
	// Fault rates.
	flapsPerDay     float64 // transient ResourceNotFound spells, per number and day
	p500            float64 // per describe
	pOverlap, pDie  float64 // per scheduled run
	pSkip           float64 // a scheduled invocation that never ran
	snsFaulty       bool
	lambdaSkew      time.Duration // the Lambda's clock against AWS's (CloudTrail's event times)
	flapOverlaps    bool          // an overlapping run may come during a transient 404 spell
	laptopSkew      time.Duration // the operator's clock, for their runs
	laptopRuns      int
	outageFrom      time.Time // a Lambda outage: no scheduled runs in [outageFrom, outageTo)
	outageTo        time.Time
	ctDelayHours    bool // some CloudTrail events appear hours late
	websiteShare    float64
	hugeCaller      bool // bob's ARN is 32 KB long (a hostile or broken CloudTrail value)
	preexistingProb float64
}

func newParams(rng *rand.Rand) params {
	p := params{
		window:          24 * time.Hour,
		reminders:       []time.Duration{6 * time.Hour, time.Hour},
		period:          []time.Duration{10 * time.Minute, 15 * time.Minute, 20 * time.Minute}[rng.IntN(3)],
		days:            3,
		flapsPerDay:     []float64{0, 0.5, 2}[rng.IntN(3)],
		p500:            []float64{0, 0.01, 0.05}[rng.IntN(3)],
		pOverlap:        []float64{0, 0.03, 0.1}[rng.IntN(3)],
		pDie:            []float64{0, 0.01, 0.04}[rng.IntN(3)],
		pSkip:           []float64{0, 0.02}[rng.IntN(2)],
		snsFaulty:       rng.IntN(3) == 0,
		lambdaSkew:      time.Duration(rng.Int64N(int64(4*time.Second))) - 2*time.Second,
		flapOverlaps:    rng.IntN(2) == 0,
		ctDelayHours:    rng.IntN(4) == 0,
		websiteShare:    []float64{0, 0.25, 0.5}[rng.IntN(3)],
		preexistingProb: 0.5,
		hugeCaller:      rng.IntN(10) == 0,
	}
	if rng.IntN(3) == 0 {
		p.targets = []string{instanceA}
	}
	if rng.IntN(3) == 0 {
		// Services' clocks a little apart (CloudTrail's event time against the checks').
		p.lambdaSkew = time.Duration(rng.Int64N(int64(2*time.Minute))) - time.Minute
	}
	if rng.IntN(4) == 0 {
		p.laptopRuns = 1 + rng.IntN(3)
		// Within the tolerance a local command that writes the table accepts (status.WriterSkew).
		p.laptopSkew = time.Duration(rng.Int64N(int64(2*status.WriterSkew))) - status.WriterSkew
	}
	if rng.IntN(5) == 0 {
		p.outageFrom = Start.Add(time.Duration(rng.Int64N(int64(p.days) * int64(24*time.Hour))))
		p.outageTo = p.outageFrom.Add(time.Hour + time.Duration(rng.Int64N(int64(5*time.Hour))))
	}
	return p
}

// end is the true time the world stops.
func (p params) end() time.Time { return Start.Add(time.Duration(p.days) * 24 * time.Hour) }

// genNumber draws the true history of number i.
func genNumber(rng *rand.Rand, p params, seed uint64, i int) *number {
	n := &number{
		id:               fmt.Sprintf("%08d-%04x-4000-8000-%012x", i, seed>>48, seed&(1<<48-1)),
		e164:             fmt.Sprintf("+1800555%04d", i),
		hiddenWhenFailed: rng.IntN(2) == 0,
		home:             instanceA,
	}
	if rng.IntN(3) == 0 {
		n.home = instanceB
	}
	n.arn = "arn:aws:connect:us-east-1:123456789012:phone-number/" + n.id
	end := p.end()
	ev := 0
	newCall := func(name string, at time.Time, target string) *call {
		ev++
		c := call{name: name, at: at, outcome: at, target: target, eventID: fmt.Sprintf("%s-ev%03d", n.id[:8], ev)}
		switch r := rng.Float64(); {
		case r < p.websiteShare:
			c.website = true
		case r < p.websiteShare+(1-p.websiteShare)/2:
			c.by = alice
		default:
			c.by = bob
			if p.hugeCaller {
				c.by = hugeBob
			}
		}
		if !c.website {
			c.appear = at.Add(lag(rng, p))
		}
		if name != status.OpRelease {
			c.outcome = at.Add(inProgressFor(rng))
		}
		n.calls = append(n.calls, c)
		return &n.calls[len(n.calls)-1]
	}

	var t time.Time
	if rng.Float64() < p.preexistingProb {
		// Claimed before the world began, successfully (an old claim CloudTrail may still show).
		t = Start.Add(-time.Hour - time.Duration(rng.Int64N(int64(72*time.Hour))))
		c := newCall(status.OpClaim, t, n.home)
		c.outcome = t.Add(time.Minute)
	} else {
		t = Start.Add(time.Duration(rng.Int64N(int64(end.Sub(Start) / 2))))
		c := newCall(status.OpClaim, t, n.home)
		c.failed = rng.IntN(2) == 0
	}
	n.exists = n.calls[0].at
	for range int(p.flapsPerDay*float64(p.days)*rng.Float64()*2 + 0.5) {
		from := Start.Add(time.Duration(rng.Int64N(int64(end.Sub(Start)))))
		n.addFlap(spell{from, from.Add(20*time.Second + time.Duration(rng.Int64N(int64(p.period/2-20*time.Second))))}, p)
	}
	chain := 0
	for {
		last := &n.calls[len(n.calls)-1]
		if last.failed {
			f := failure{call: len(n.calls) - 1, at: last.outcome, chain: chain}
			n.failures = append(n.failures, f)
			release := f.at.Add(p.window)
			if rng.IntN(20) < 11 {
				// A retry inside the window (a claim again, or an update).
				retry := f.at.Add(5*time.Minute + time.Duration(rng.Int64N(int64(p.window-10*time.Minute))))
				if retry.After(end) {
					break
				}
				name := last.name
				if rng.IntN(3) == 0 {
					name = status.OpUpdate
				}
				c := newCall(name, retry, last.target)
				c.failed = rng.IntN(2) == 0
				continue
			}
			n.gone, n.goneExpired = release, true
			break
		}
		// CLAIMED: maybe an update (which may fail), a release, or nothing more.
		chain++
		t = last.outcome.Add(30*time.Minute + time.Duration(rng.Int64N(int64(36*time.Hour))))
		if t.After(end) {
			break
		}
		switch r := rng.IntN(20); {
		case r < 13:
			target := instanceA
			if last.target == instanceA {
				target = instanceB
			}
			c := newCall(status.OpUpdate, t, target)
			c.failed = rng.IntN(2) == 0
			continue
		case r < 15:
			newCall(status.OpRelease, t, "")
			n.gone = t
		}
		break
	}
	return n
}

// addFlap adds a transient 404 spell unless it comes within two schedule periods of another:
// DESIGN.md takes two 404s a schedule period apart as "gone", and a world where two transient
// spells come that close would judge that rule, not the code.
func (n *number) addFlap(s spell, p params) {
	if s.to.Sub(s.from) >= p.period/2 || slices.ContainsFunc(n.flaps, func(o spell) bool {
		return s.from.Before(o.to.Add(2*p.period)) && o.from.Before(s.to.Add(2*p.period))
	}) {
		return
	}
	n.flaps = append(n.flaps, s)
}

// lag is how long after the call CloudTrail's event history shows it.
func lag(rng *rand.Rand, p params) time.Duration {
	switch r := rng.Float64(); {
	case r < 0.7:
		return 20*time.Second + time.Duration(rng.Int64N(int64(5*time.Minute)))
	case r < 0.92 || !p.ctDelayHours:
		return 5*time.Minute + time.Duration(rng.Int64N(int64(40*time.Minute)))
	default:
		return time.Hour + time.Duration(rng.Int64N(int64(6*time.Hour)))
	}
}

// inProgressFor is how long a Claim/Update stays IN_PROGRESS.
func inProgressFor(rng *rand.Rand) time.Duration {
	switch r := rng.Float64(); {
	case r < 0.8:
		return 5*time.Second + time.Duration(rng.Int64N(int64(3*time.Minute)))
	case r < 0.95:
		return 3*time.Minute + time.Duration(rng.Int64N(int64(40*time.Minute)))
	default:
		return 40*time.Minute + time.Duration(rng.Int64N(int64(3*time.Hour)))
	}
}

// release is the true release time of failure f: its failure time plus the window. A retry
// that fails again restarts the window from its own failure (the rule phonewatch follows when
// an operation proves the retry), so the release of a chain is its last failure's.
func (n *number) release(f int, window time.Duration) time.Time {
	return n.failures[f].at.Add(window)
}

// call is the number's call with CloudTrail event ID id, nil when it has none.
func (n *number) call(id string) *call {
	for i := range n.calls {
		if n.calls[i].eventID == id {
			return &n.calls[i]
		}
	}
	return nil
}

// chainStart is the index of the first failure of failure fi's chain.
func (n *number) chainStart(fi int) int {
	for fi > 0 && n.failures[fi-1].chain == n.failures[fi].chain {
		fi--
	}
	return fi
}
