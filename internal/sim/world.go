package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// World is one seeded history: its numbers, its runs, and the judge of what they sent.
type World struct {
	Seed    uint64
	p       params
	numbers []*number
	byID    map[string]*number
	st      *store
	judge   *Judge
	runs    int
	// draining: the world's last runs, with every fault off, so that what is owed can be
	// delivered.
	draining bool
	log      io.Writer // the replay's account of the history; nil: none
}

// run is one invocation of the monitor.
type run struct {
	w        *World
	idx      int
	name     string    // "scheduled", "laptop", "request" (a check request)
	at       time.Time // the true time of the run
	clock    time.Time // what the run's clock says (true time + its skew)
	skew     time.Duration
	scope    monitor.Scope
	cancel   context.CancelFunc
	answered map[string]status.Status // what Connect answered this run, by number
	// readSeq is the store's write count when the run first read the state (-1: not yet).
	readSeq int

	describes       int
	dieAtDescribe   int  // the describe at which the run dies (0: none)
	dieAfterPublish bool // the run dies after publishing, before marking anything sent
	died            bool
	faulty          bool   // a fault touched this run (a transient 404 or error, SNS)
	nested          *run   // a run that overlaps this one, run in full at nestAt
	nestAt          string // "describe" (before this run's first describe) or "publish"
	isNested        bool
}

// NewWorld draws the world of a seed.
func NewWorld(seed uint64) *World {
	rng := rand.New(rand.NewPCG(seed, 0x17)) //nolint:gosec // a seeded world, replayable, not a secret
	w := &World{Seed: seed, p: newParams(rng), byID: map[string]*number{}}
	for i := range 1 + rng.IntN(3) {
		n := genNumber(rng, w.p, seed, i)
		w.numbers = append(w.numbers, n)
		w.byID[n.id] = n
	}
	w.st = &store{w: w, recs: map[string]status.Record{}}
	w.judge = newJudge(w)
	return w
}

// plan is the world's invocations in true-time order, drawn from its own random source.
func (w *World) plan() []*run {
	rng := rand.New(rand.NewPCG(w.Seed, 0x1717)) //nolint:gosec // a seeded world, replayable, not a secret
	p := w.p
	var runs []*run
	add := func(name string, at time.Time, scope monitor.Scope) *run {
		r := &run{w: w, name: name, at: at, skew: p.lambdaSkew, scope: scope, readSeq: -1}
		if name == "laptop" {
			r.skew = p.laptopSkew
		}
		runs = append(runs, r)
		return r
	}
	for t := Start; t.Before(p.end()); t = t.Add(p.period) {
		at := t.Add(time.Duration(rng.Int64N(int64(30 * time.Second))))
		skip := rng.Float64() < p.pSkip || (!at.Before(p.outageFrom) && at.Before(p.outageTo))
		overlap, die := rng.Float64() < p.pOverlap, rng.Float64() < p.pDie
		if skip {
			continue
		}
		r := add("scheduled", at, monitor.Scope{Scheduled: true})
		if die {
			if rng.IntN(2) == 0 {
				r.dieAfterPublish = true
			} else {
				r.dieAtDescribe = 1 + rng.IntN(3)
			}
		}
		if overlap {
			// Another invocation a moment later: a retry of this one by Lambda, or a check
			// request, that reads the state before this run writes it or while it publishes.
			o := &run{w: w, name: "scheduled", at: at.Add(time.Second + time.Duration(rng.Int64N(int64(time.Minute)))),
				skew: p.lambdaSkew, scope: monitor.Scope{Scheduled: true}, readSeq: -1, isNested: true}
			// A check request names a number that exists (Connect gives the ID on the claim).
			n := w.numbers[rng.IntN(len(w.numbers))]
			if rng.IntN(2) == 0 && !n.exists.After(o.at) {
				o.name, o.scope = "request", monitor.Scope{PhoneNumberIDs: []string{n.id}}
			}
			switch rng.IntN(3) {
			case 0:
				r.nested, r.nestAt = o, "describe"
			case 1:
				r.nested, r.nestAt = o, "publish"
			default:
				// Right after this run, as its own invocation.
				o.isNested = false
				runs = append(runs, o)
			}
			if p.flapOverlaps && rng.IntN(3) == 0 {
				// Connect answers 404 for a moment, to both runs.
				n := w.numbers[rng.IntN(len(w.numbers))]
				n.addFlap(spell{at.Add(-5 * time.Second), o.at.Add(10 * time.Second)}, p)
			}
		}
	}
	for range p.laptopRuns {
		at := Start.Add(time.Duration(rng.Int64N(int64(p.end().Sub(Start)))))
		add("laptop", at, monitor.Scope{Scheduled: true})
	}
	// Numbers outside the configured targets are watched from a check request.
	for _, n := range w.numbers {
		if len(p.targets) == 0 || slices.Contains(p.targets, n.home) {
			continue
		}
		at := n.exists.Add(time.Duration(rng.Int64N(int64(36 * time.Hour))))
		if at.Before(Start) {
			at = Start.Add(time.Duration(rng.Int64N(int64(36 * time.Hour))))
		}
		add("request", at, monitor.Scope{PhoneNumberIDs: []string{n.id}})
	}
	slices.SortStableFunc(runs, func(a, b *run) int { return a.at.Compare(b.at) })
	// The drain: an hour of fault-free scheduled runs after the end.
	for t := p.end(); t.Before(p.end().Add(time.Hour)); t = t.Add(p.period) {
		add("drain", t, monitor.Scope{Scheduled: true})
	}
	return runs
}

// Run plays the whole history and returns the judge's findings.
func (w *World) Run() *Judge {
	w.describe()
	for _, r := range w.plan() {
		w.draining = r.name == "drain"
		w.runOne(r)
	}
	return w.judge
}

var quiet = slog.New(slog.DiscardHandler)

func (w *World) runOne(r *run) {
	w.runs++
	r.idx = w.runs
	r.clock = r.at.Add(r.skew)
	r.answered = map[string]status.Status{}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	defer cancel()
	clean := !r.isNested && r.nested == nil && r.dieAtDescribe == 0 && !r.dieAfterPublish && r.name != "laptop" &&
		!w.claimsHeld(r.clock)
	m := &monitor.Monitor{
		Source:     source{r},
		Store:      storeView{r},
		Publisher:  publisher{r},
		Policy:     status.Policy{RetryWindow: w.p.window, Reminders: w.p.reminders, StuckAfter: 30 * time.Minute, NotifyRecovery: true},
		Targets:    w.p.targets,
		Now:        func() time.Time { return r.clock },
		InFlight:   1,
		Operations: operations{r},
		Cursor:     storeView{r},
		SweepEvery: time.Hour,
		NewRunID:   func() string { return fmt.Sprintf("run-%d", r.idx) },
		Log:        quiet,
	}
	sum, err := m.Run(ctx, r.scope)
	if w.log != nil {
		fmt.Fprintf(w.log, "run %d %s at %s (clock %+v) checked %d sent %d died=%v faulty=%v err=%v\n",
			r.idx, r.name, r.at.Format(time.RFC3339), r.skew, sum.Checked, sum.NotificationsSent, r.died, r.faulty, err)
		for _, n := range w.numbers {
			if rec, ok := w.st.recs[n.id]; ok {
				fmt.Fprintf(w.log, "    %s\n", recordLine(rec))
			}
		}
	}
	w.judge.afterRun(r, clean && !r.faulty)
}

// runNested runs the run that overlaps r, in full, at this point of r.
func (w *World) runNested(r *run) {
	o := r.nested
	r.nested = nil
	if w.log != nil {
		fmt.Fprintf(w.log, "  overlapping run inside run %d (%s):\n", r.idx, r.nestAt)
	}
	w.runOne(o)
}

// claimsHeld reports whether a record is claimed by a run at clock time t.
func (w *World) claimsHeld(t time.Time) bool {
	for _, rec := range w.st.recs {
		if rec.ClaimedBy != "" && rec.ClaimUntil.After(t) {
			return true
		}
	}
	return false
}

// describe writes the world's truth to the replay log.
func (w *World) describe() {
	if w.log == nil {
		return
	}
	p := w.p
	fmt.Fprintf(w.log, "world seed %d: period %s, targets %v, 404 spells/day %.1f, 500 %.2f, overlap %.2f, die %.2f, skip %.2f, "+
		"sns faulty %v, lambda skew %s, laptop runs %d skew %s, outage %s..%s, website %.2f\n",
		w.Seed, p.period, p.targets, p.flapsPerDay, p.p500, p.pOverlap, p.pDie, p.pSkip, p.snsFaulty, p.lambdaSkew,
		p.laptopRuns, p.laptopSkew, p.outageFrom.Format(time.RFC3339), p.outageTo.Format(time.RFC3339), p.websiteShare)
	for _, n := range w.numbers {
		fmt.Fprintf(w.log, "number %s (%s), home %s, hidden when FAILED %v, exists %s, gone %s (expired %v)\n",
			n.id, n.e164, n.home[len(n.home)-12:], n.hiddenWhenFailed, n.exists.Format(time.RFC3339),
			n.gone.Format(time.RFC3339), n.goneExpired)
		for _, c := range n.calls {
			fmt.Fprintf(w.log, "  %s %s at %s -> %s failed=%v by %q website=%v appears %s\n", c.eventID, c.name,
				c.at.Format(time.RFC3339), c.outcome.Format(time.RFC3339), c.failed, c.by, c.website,
				c.appear.Format(time.RFC3339))
		}
		for _, s := range n.flaps {
			fmt.Fprintf(w.log, "  transient ResourceNotFound %s..%s\n", s.from.Format(time.RFC3339), s.to.Format(time.RFC3339))
		}
		for i, f := range n.failures {
			fmt.Fprintf(w.log, "  failure %d (chain %d) at %s, release %s\n", i, f.chain, f.at.Format(time.RFC3339),
				n.release(i, p.window).Format(time.RFC3339))
		}
	}
}

func recordLine(rec status.Record) string {
	s := fmt.Sprintf("%s v%d %s checked %s notFailed %s", rec.ID[:8], rec.Version, rec.Status,
		rec.CheckedAt.Format(time.RFC3339), rec.NotFailedAt.Format(time.RFC3339))
	if e := rec.Episode; e != nil {
		s += fmt.Sprintf(" episode since %s deadline %s (%s, %s) ended %s sent F=%s R=%s E=%s",
			e.FailedSince.Format(time.RFC3339), e.Deadline.Format(time.RFC3339), e.Basis, e.Failure,
			e.EndedAt.Format(time.RFC3339), e.FailedSentAt.Format(time.RFC3339), e.RemindedAt.Format(time.RFC3339),
			e.ExpiredSentAt.Format(time.RFC3339))
	}
	if rec.ClaimedBy != "" {
		s += " claimed by " + rec.ClaimedBy
	}
	if len(rec.Attempted) > 0 {
		s += fmt.Sprintf(" attempted %v", rec.Attempted)
	}
	return s
}
