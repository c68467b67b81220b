package monitor_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/faultproxy"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// gate is a monitor.Store over the real one that holds each run's first Save until every
// run of the round has reached its own, so that all of them have read and decided from the
// same state before any claims: the race that overlapping runs must survive.
type gate struct {
	monitor.Store
	arrived *sync.WaitGroup
	once    sync.Once
}

func (g *gate) Save(ctx context.Context, recs []status.Record) ([]string, error) {
	g.once.Do(func() {
		g.arrived.Done()
		done := make(chan struct{})
		go func() { g.arrived.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
		}
	})
	return g.Store.Save(ctx, recs)
}

// TestDuplicateRunsPublishOnce: two runs at once over the same state, round after round,
// publish each (number, episode, event) exactly once between them, whether both decided
// from the same state (gated) or they interleave as they happen to.
func TestDuplicateRunsPublishOnce(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	// DynamoDB isolates concurrent transactions; moto_server does not, unless its requests
	// come one at a time (see faultproxy.Proxy.Serialize).
	proxy := faultproxy.New(t, e.moto)
	proxy.Serialize()
	e.dynamoURL = proxy.URL
	failing, steady := ids(1, 5), ids(2, 3)
	e.put("FAILED", failing...)
	e.put("CLAIMED", steady...)
	// Two Lambda instances: same configuration, SDK clients of their own.
	runners := []*monitor.Monitor{e.monitor(), e.monitor()}

	rounds := []struct {
		name  string
		setup func()
		want  string // the event each failing number gets this round ("" none)
		gated bool
	}{
		{"first sight FAILED", func() {}, "FAILED", true},
		{"nothing new", func() {}, "", true},
		{"recovered", func() { e.set("CLAIMED", failing...) }, "RECOVERED", false},
		{"failed again: a new episode", func() { e.set("FAILED", failing...) }, "FAILED", true},
		{"failed again, ungated", func() {
			e.set("CLAIMED", failing...)
			e.run(e.monitor(), 20*time.Second) // RECOVERED, outside the counted round
			e.received()
			e.set("FAILED", failing...)
		}, "FAILED", false},
		{"gone once while FAILED: maybe transient", func() {
			for _, id := range failing {
				e.connect.Remove(id)
			}
		}, "", true},
		// A schedule period later: two 404s seconds apart are no confirmation (issue 17, 3).
		{"gone again: confirmed", func() { e.clock.Advance(status.DefaultGoneAfter) }, "EXPIRED", true},
	}
	for _, round := range rounds {
		round.setup()
		var arrived sync.WaitGroup
		arrived.Add(len(runners))
		sums := make([]monitor.Summary, len(runners))
		errs := make([]error, len(runners))
		var wg sync.WaitGroup
		for i, m := range runners {
			m := *m
			if round.gated {
				m.Store = &gate{Store: m.Store, arrived: &arrived}
			}
			wg.Go(func() { sums[i], errs[i] = e.tryRun(&m, 20*time.Second) })
		}
		wg.Wait()

		got := e.received()
		var want []string
		sent := 0
		for i := range runners {
			if errs[i] != nil || len(sums[i].Errors) > 0 {
				t.Fatalf("%s: run %d: %v %+v", round.name, i, errs[i], sums[i].Errors)
			}
			sent += sums[i].NotificationsSent
		}
		if round.want != "" {
			for _, id := range failing {
				want = append(want, id+" "+round.want)
			}
		}
		var gotKeys []string
		for _, m := range got {
			gotKeys = append(gotKeys, m.PhoneNumberID+" "+m.Event)
		}
		slices.Sort(gotKeys)
		if !slices.Equal(gotKeys, want) {
			t.Errorf("%s: the queue got %v, want each of %v once", round.name, gotKeys, want)
		}
		if sent != len(want) {
			t.Errorf("%s: the runs report %d notifications sent, want %d", round.name, sent, len(want))
		}
		for id, r := range e.records() {
			if r.ClaimedBy != "" {
				t.Errorf("%s: %s is still claimed by %s", round.name, id, r.ClaimedBy)
			}
		}
	}
}

// failEntry is a monitor.Publisher over the real SNS one that fails every notification of
// one number without sending it, as an SNS entry rejection would, and passes the rest on.
type failEntry struct {
	monitor.Publisher
	id string
}

func (f failEntry) Publish(ctx context.Context, ns []status.Notification) []error {
	var pass []status.Notification
	for _, n := range ns {
		if n.Number.ID != f.id {
			pass = append(pass, n)
		}
	}
	got := f.Publisher.Publish(ctx, pass)
	errs := make([]error, len(ns))
	for i, n := range ns {
		if n.Number.ID == f.id {
			errs[i] = errors.New("InternalError: injected rejection")
		} else {
			errs[i], got = got[0], got[1:]
		}
	}
	return errs
}

// TestSNSOutage: a run whose publish fails marks nothing sent, reports each failure in
// Summary.Errors and still saves every record; the next run, with SNS back, sends each
// notification once, and the one after sends nothing.
func TestSNSOutage(t *testing.T) {
	parallel(t)
	testCases := []struct {
		name string
		// broken is the publisher of the outage run, and unsent the numbers it fails.
		broken func(e *env, failing []string) monitor.Publisher
		unsent func(failing []string) []string
	}{
		{
			name:   "topic missing",
			broken: func(e *env, _ []string) monitor.Publisher { return e.publisher(e.topic + "-deleted") },
			unsent: func(failing []string) []string { return failing },
		},
		{
			name: "one entry rejected",
			broken: func(e *env, failing []string) monitor.Publisher {
				return failEntry{Publisher: e.publisher(e.topic), id: failing[0]}
			},
			unsent: func(failing []string) []string { return failing[:1] },
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			parallel(t)
			e := newEnv(t)
			failing, steady := ids(1, 2), ids(2, 3)
			e.put("FAILED", failing...)
			e.put("CLAIMED", steady...)
			unsent := tc.unsent(failing)

			m := e.monitor()
			m.Publisher = tc.broken(e, failing)
			sum := e.run(m, 20*time.Second)
			if sum.Checked != 5 || sum.NotificationsSent != len(failing)-len(unsent) || len(sum.Errors) != len(unsent) {
				t.Fatalf("outage run: %+v, want 5 checked, %d sent, %d errors", sum, len(failing)-len(unsent), len(unsent))
			}
			for _, ne := range sum.Errors {
				if !slices.Contains(unsent, ne.PhoneNumberID) || !strings.Contains(ne.Error, "publish FAILED") {
					t.Errorf("error %+v, want a publish FAILED error of one of %v", ne, unsent)
				}
			}
			e.received()
			recs := e.records()
			if len(recs) != 5 {
				t.Fatalf("%d records saved, want all 5", len(recs))
			}
			for _, id := range failing {
				r := recs[id]
				if r.ClaimedBy != "" || !r.Episode.Open() {
					t.Errorf("%s: claim %q, episode %+v; want released, open", id, r.ClaimedBy, r.Episode)
				}
				if announced := r.Episode.Announced(); announced == slices.Contains(unsent, id) {
					t.Errorf("%s: announced %v after the outage run", id, announced)
				}
			}

			m.Publisher = e.publisher(e.topic) // SNS is back
			sum = e.run(m, 20*time.Second)
			got := e.received()
			if ev := events(got); len(got) != len(unsent) || len(ev["FAILED"]) != len(unsent) || sum.NotificationsSent != len(unsent) {
				t.Errorf("next run sent %v (summary %d), want FAILED once for each of %v", keys(got), sum.NotificationsSent, unsent)
			}
			for _, id := range unsent {
				if r := e.records()[id]; !r.Episode.Announced() {
					t.Errorf("%s not marked sent after the retry", id)
				}
			}
			e.run(m, 20*time.Second)
			if got := e.received(); len(got) != 0 {
				t.Errorf("a third run sent %v, want nothing", keys(got))
			}
		})
	}
}

// dieAfterPublish is a monitor.Publisher over the real one that ends the run's context as
// soon as SNS has accepted the notifications: the Lambda dies before it can mark them sent.
type dieAfterPublish struct {
	monitor.Publisher
	die context.CancelFunc
}

func (d dieAfterPublish) Publish(ctx context.Context, ns []status.Notification) []error {
	errs := d.Publisher.Publish(ctx, ns)
	d.die()
	return errs
}

// TestCrashBetweenPublishAndSave: the run dies right after SNS accepted its notifications, so
// the write that marks them sent is lost. The episode is kept (claimed, unannounced); before
// the claim expires other runs leave the numbers alone (and still count them as checked);
// after it, one run sends each notification again (a copy for the crashed run's unanswered
// publish), and none after that.
func TestCrashBetweenPublishAndSave(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	failing := ids(1, 3)
	e.put("FAILED", failing...)
	e.put("CLAIMED", ids(2, 2)...)

	m := e.monitor()
	ctx, die := context.WithTimeout(context.Background(), 20*time.Second)
	defer die()
	m.Publisher = dieAfterPublish{Publisher: e.publisher(e.topic), die: die}
	if _, err := m.Run(ctx, monitor.Scope{Scheduled: true}); err == nil {
		t.Fatal("the crashed run reported success")
	}
	if got := events(e.received())["FAILED"]; len(got) != 3 {
		t.Fatalf("the crashed run delivered FAILED for %v, want all 3", got)
	}
	before := e.records()
	var claimUntil time.Time
	for _, id := range failing {
		r := before[id]
		if r.ClaimedBy == "" || !r.Episode.Open() || r.Episode.Announced() {
			t.Fatalf("%s after the crash: %+v, want claimed, open, unannounced", id, r)
		}
		claimUntil = r.ClaimUntil
	}

	// Before the claim expires: the claimed numbers are checked, counted, and left alone.
	e.clock.Advance(time.Minute)
	m = e.monitor()
	sum := e.run(m, 20*time.Second)
	if got := e.received(); len(got) != 0 {
		t.Errorf("a run inside the claim sent %v, want nothing", keys(got))
	}
	if sum.Checked != 5 || sum.Statuses["FAILED"] != 3 || sum.NotificationsSent != 0 {
		t.Errorf("run inside the claim: %+v, want 5 checked (3 FAILED), nothing sent", sum)
	}
	for _, id := range failing {
		if r := e.records()[id]; r.Version != before[id].Version || r.ClaimedBy != before[id].ClaimedBy {
			t.Errorf("%s was written by a run inside another's claim: %+v", id, r)
		}
	}

	// After it: sent again (the copy of the crashed run's publish), on the same episode.
	e.clock.Advance(time.Until(claimUntil) + time.Second)
	sum = e.run(m, 20*time.Second)
	got := e.received()
	if ev := events(got); len(got) != 3 || len(ev["FAILED"]) != 3 || sum.NotificationsSent != 3 {
		t.Errorf("the run after the claim expired sent %v, want FAILED once for each of %v", keys(got), failing)
	}
	for _, m := range got {
		if ep := before[m.PhoneNumberID].Episode; m.FailedSince != ep.FailedSince.UTC().Format(time.RFC3339) {
			t.Errorf("%s: repeat is for episode %s, want the kept one %s", m.PhoneNumberID, m.FailedSince, ep.FailedSince)
		}
	}
	for _, id := range failing {
		if r := e.records()[id]; r.ClaimedBy != "" || !r.Episode.Announced() {
			t.Errorf("%s after the repeat: %+v, want released and announced", id, r)
		}
	}
	e.run(m, 20*time.Second)
	if got := e.received(); len(got) != 0 {
		t.Errorf("a run after the repeat sent %v, want nothing", keys(got))
	}
}

// TestLostWriteResponses: DynamoDB applies the claim and the mark writes but their answers are
// lost (a 500 after the write, so the SDK's retry meets its own write as a conflict). The run
// reads the records back, knows its own writes, publishes once and reports success; nothing is
// left claimed and nothing is sent twice.
func TestLostWriteResponses(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	proxy := faultproxy.New(t, e.moto)
	e.dynamoURL = proxy.URL
	failing := ids(1, 3)
	e.put("FAILED", failing...)
	e.put("CLAIMED", ids(2, 2)...)

	lost := faultproxy.DynamoInternal
	lost.AfterForward = true
	m := e.monitor()
	m.Publisher = hook{Publisher: m.Publisher, after: func() { proxy.Inject("TransactWriteItems", 1, lost) }}
	proxy.Inject("TransactWriteItems", 1, lost) // the claim
	sum := e.run(m, 20*time.Second)
	if proxy.Injected() != 2 {
		t.Fatalf("%d faults answered, want 2 (the claim's and the mark's)", proxy.Injected())
	}
	got := e.received()
	if len(got) != 3 || sum.NotificationsSent != 3 || len(sum.Errors) != 0 {
		t.Errorf("sent %v, summary %+v; want FAILED once each for %v and no errors", keys(got), sum, failing)
	}
	for id, r := range e.records() {
		if r.ClaimedBy != "" {
			t.Errorf("%s left claimed", id)
		}
		if slices.Contains(failing, id) && !r.Episode.Announced() {
			t.Errorf("%s not marked sent", id)
		}
	}
	m.Publisher = e.publisher(e.topic)
	e.run(m, 20*time.Second)
	if got := e.received(); len(got) != 0 {
		t.Errorf("the next run sent %v, want nothing", keys(got))
	}
}

// hook is a monitor.Publisher over the real one that calls after once SNS has answered.
type hook struct {
	monitor.Publisher
	after func()
}

func (h hook) Publish(ctx context.Context, ns []status.Notification) []error {
	errs := h.Publisher.Publish(ctx, ns)
	h.after()
	return errs
}

// TestDynamoDBFaultsRetried: throttling, 5xx and a hung connection, more of each than the
// SDK's three attempts absorb, are retried with backoff inside the deadline: the run succeeds,
// every record is saved and every notification sent once.
func TestDynamoDBFaultsRetried(t *testing.T) {
	parallel(t)
	hung := faultproxy.DynamoInternal
	hung.Delay = time.Hour
	testCases := []struct {
		name  string
		op    string
		n     int
		fault faultproxy.Fault
	}{
		{"throttled state reads", "Scan", 4, faultproxy.DynamoThrottling},
		{"5xx on state writes", "TransactWriteItems", 4, faultproxy.DynamoInternal},
		{"throttled state writes", "TransactWriteItems", 5, faultproxy.DynamoThrottling},
		{"hung state read", "Scan", 1, hung},
		{"hung state write", "TransactWriteItems", 1, hung},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			parallel(t)
			e := newEnv(t)
			proxy := faultproxy.New(t, e.moto)
			e.dynamoURL = proxy.URL
			failing, steady := ids(1, 2), ids(2, 3)
			e.put("FAILED", failing...)
			e.put("CLAIMED", steady...)

			m := e.monitor()
			m.StoreTimeout = 500 * time.Millisecond // how long a hung call is given
			proxy.Inject(tc.op, tc.n, tc.fault)
			sum := e.run(m, 20*time.Second)
			if proxy.Injected() != tc.n {
				t.Fatalf("%d faults answered, want %d", proxy.Injected(), tc.n)
			}
			if sum.Checked != 5 || sum.NotificationsSent != 2 || len(sum.Errors) != 0 || !sum.Complete {
				t.Errorf("summary %+v, want 5 checked, 2 sent, no errors, complete", sum)
			}
			if got := e.received(); len(got) != 2 {
				t.Errorf("sent %v, want FAILED once for each of %v", keys(got), failing)
			}
			recs := e.records()
			if len(recs) != 5 {
				t.Errorf("%d records saved, want 5", len(recs))
			}
			for _, id := range failing {
				if r := recs[id]; !r.Episode.Announced() || r.ClaimedBy != "" {
					t.Errorf("%s: %+v, want announced and released", id, r)
				}
			}
		})
	}
}

// TestDynamoDBDownKeepsEpisodes: while every state write fails, a run reports the error and
// sends nothing it could not claim; the stored episode is untouched, and once DynamoDB is back
// the next run sends what is owed, once.
func TestDynamoDBDownKeepsEpisodes(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	proxy := faultproxy.New(t, e.moto)
	e.dynamoURL = proxy.URL
	failing := ids(1, 2)
	e.put("FAILED", failing...)
	e.put("CLAIMED", ids(2, 2)...)
	m := e.monitor()
	e.run(m, 20*time.Second)
	if got := e.received(); len(got) != 2 {
		t.Fatalf("first run sent %v, want FAILED for %v", keys(got), failing)
	}
	before := e.records()

	e.set("CLAIMED", failing...) // RECOVERED is now owed
	proxy.Inject("TransactWriteItems", 1000, faultproxy.DynamoInternal)
	sum, err := e.tryRun(m, 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "save claim") {
		t.Errorf("run while DynamoDB fails writes: err %v, want a save claim error", err)
	}
	if sum.NotificationsSent != 0 || len(sum.Errors) < 2 {
		t.Errorf("summary %+v, want nothing sent and the unclaimed numbers listed", sum)
	}
	if got := e.received(); len(got) != 0 {
		t.Errorf("sent %v without a claim", keys(got))
	}
	for id, r := range e.records() {
		if r.Version != before[id].Version || (r.Episode == nil) != (before[id].Episode == nil) {
			t.Errorf("%s changed while writes failed: %+v", id, r)
		}
	}

	proxy.Clear()
	sum = e.run(m, 20*time.Second)
	if ev := events(e.received()); len(ev["RECOVERED"]) != 2 || sum.NotificationsSent != 2 {
		t.Errorf("after DynamoDB is back: %v (summary %d), want RECOVERED once each", ev, sum.NotificationsSent)
	}
	e.run(m, 20*time.Second)
	if got := e.received(); len(got) != 0 {
		t.Errorf("the run after sent %v, want nothing", keys(got))
	}
}

// TestConnectFaults: throttling and 5xx from Connect are retried by the source within the run;
// a number that stays unreachable is a summary error whose record (and announced episode) is
// left as it was, and the next run checks it again without repeating its notification.
func TestConnectFaults(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	down, throttled, flaky, fine := ids(1, 1)[0], ids(2, 1)[0], ids(3, 1)[0], ids(4, 1)[0]
	e.put("FAILED", down)
	e.put("CLAIMED", throttled, flaky, fine)
	m := e.monitor()
	e.run(m, 20*time.Second)
	if got := e.received(); len(got) != 1 {
		t.Fatalf("first run sent %v, want FAILED for %s", keys(got), down)
	}
	before := e.records()

	e.connect.ResetCounters()
	e.connect.FailNext(throttled, 429, "ThrottlingException", 2)
	e.connect.FailNext(flaky, 500, "InternalServiceException", 2)
	e.connect.FailNext(down, 500, "InternalServiceException", 100)
	e.clock.Advance(time.Minute)
	sum := e.run(m, 20*time.Second)
	if sum.Checked != 3 || len(sum.Errors) != 1 || sum.Errors[0].PhoneNumberID != down {
		t.Fatalf("summary %+v, want 3 checked and one error, for %s", sum, down)
	}
	if !sum.Complete {
		t.Errorf("complete false: a number that failed is an error, not left for lack of time")
	}
	if n := e.connect.Describes(throttled); n != 3 {
		t.Errorf("%d describes of the throttled number, want 2 throttled + 1", n)
	}
	after := e.records()
	if r := after[down]; r.Version != before[down].Version || !r.CheckedAt.Equal(before[down].CheckedAt) ||
		!r.Episode.Announced() || !r.Episode.FailedSince.Equal(before[down].Episode.FailedSince) {
		t.Errorf("the unreachable number's record changed: %+v, was %+v", r, before[down])
	}
	for _, id := range []string{throttled, flaky, fine} {
		if !after[id].CheckedAt.After(before[id].CheckedAt) {
			t.Errorf("%s not saved after its retried check", id)
		}
	}

	drain(e, down)
	e.connect.ResetCounters()
	sum = e.run(m, 20*time.Second)
	if e.connect.Describes(down) != 1 || len(sum.Errors) != 0 || sum.Checked != 4 {
		t.Errorf("next run: %d describes of %s, summary %+v; want it checked once, no errors", e.connect.Describes(down), down, sum)
	}
	if got := e.received(); len(got) != 0 {
		t.Errorf("next run sent %v, want nothing (FAILED was sent before)", keys(got))
	}
}

// drain uses up the failures still queued for id on the Connect server.
func drain(e *env, id string) {
	src := e.source(0, 1)
	for range 100 {
		if _, err := src.Describe(context.Background(), id); err == nil {
			return
		}
	}
	e.t.Fatalf("%s still failing", id)
}

// TestConnectHangs: when Connect answers nothing at all, the run bounds its listing and cuts
// its checks at the time budget, returns before its deadline with an error (so the errors
// alarm fires) and leaves the state as it was; for a scheduled run (listing too hangs) and a
// check request (describes only).
func TestConnectHangs(t *testing.T) {
	parallel(t)
	numbers := ids(1, 2)
	testCases := []struct {
		name  string
		scope monitor.Scope
	}{
		{"scheduled", monitor.Scope{Scheduled: true}},
		{"check request", monitor.Scope{PhoneNumberIDs: numbers}},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			parallel(t)
			e := newEnv(t)
			e.put("FAILED", numbers...)
			m := e.monitor()
			e.run(m, 20*time.Second)
			e.received()
			before := e.records()

			e.connect.SetLatency(time.Hour)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			sum, err := m.Run(ctx, tc.scope)
			if ctx.Err() != nil {
				t.Errorf("the run returned after its deadline")
			}
			if err == nil || !strings.Contains(err.Error(), "no number could be checked") || sum.Checked != 0 {
				t.Errorf("err %v, summary %+v; want no number checked, as an error", err, sum)
			}
			for id, r := range e.records() {
				if r.Version != before[id].Version {
					t.Errorf("%s written although not checked", id)
				}
			}
		})
	}
}

// TestAccessDeniedEverywhere: when every describe is denied, no number can be checked and the
// run's error names the IAM action the role lacks.
func TestAccessDeniedEverywhere(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	numbers := ids(1, 3)
	e.put("CLAIMED", numbers...)
	for _, id := range numbers {
		e.connect.FailNext(id, 403, "AccessDeniedException", 1)
	}
	sum, err := e.tryRun(e.monitor(), 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "connect:DescribePhoneNumber") {
		t.Errorf("err %v, want one that names connect:DescribePhoneNumber", err)
	}
	if sum.Checked != 0 || len(sum.Errors) != 3 {
		t.Errorf("summary %+v, want nothing checked and 3 errors", sum)
	}
	if recs := e.records(); len(recs) != 0 {
		t.Errorf("%d records written", len(recs))
	}
}
