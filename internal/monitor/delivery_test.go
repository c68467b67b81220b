package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/faultproxy"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// snsUnavailable is SNS answering 503 ServiceUnavailable: an error answer, nothing accepted.
var snsUnavailable = faultproxy.Fault{
	Status:  http.StatusServiceUnavailable,
	Type:    "ServiceUnavailable",
	Message: "Service is unavailable",
}

// TestSNSOutageOfSeveralRuns (issue 18.1): SNS answers every PublishBatch with an error (500
// InternalError, 503) for two or three runs in a row, each attempt of each call (the SDK's
// retries included). No run marks anything sent; once SNS is back, the next run delivers every
// FAILED exactly once (an error answer accepted nothing, so there is no copy), and the run
// after sends nothing. Before issue 18 the second failed attempt counted as the "one repeat"
// and was marked sent: none of the FAILED was ever delivered.
func TestSNSOutageOfSeveralRuns(t *testing.T) {
	parallel(t)
	testCases := []struct {
		name   string
		outage []faultproxy.Fault // SNS's answer in each run of the outage
	}{
		{"500 for two runs", []faultproxy.Fault{faultproxy.SNSInternal, faultproxy.SNSInternal}},
		{"503, 503, then 500", []faultproxy.Fault{snsUnavailable, snsUnavailable, faultproxy.SNSInternal}},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			parallel(t)
			e := newEnv(t)
			failing, steady := ids(1, 3), ids(2, 2)
			e.put("FAILED", failing...)
			e.put("CLAIMED", steady...)
			proxy := faultproxy.New(t, e.moto)
			m := e.monitor()
			m.Publisher = e.publisherVia(proxy.URL, e.topic)

			for run, f := range tc.outage {
				proxy.Inject("PublishBatch", 100, f)
				sum := e.run(m, 20*time.Second)
				proxy.Clear()
				if sum.NotificationsSent != 0 || len(sum.Errors) != len(failing) || sum.Unconfirmed != 0 {
					t.Errorf("outage run %d: %+v, want nothing sent, one error per FAILED, none unconfirmed", run+1, sum)
				}
				if got := e.received(); len(got) != 0 {
					t.Errorf("outage run %d delivered %v", run+1, keys(got))
				}
				for _, id := range failing {
					if r := e.records()[id]; r.Episode.Announced() || r.ClaimedBy != "" {
						t.Errorf("outage run %d: %s announced %v, claim %q; want unannounced, released",
							run+1, id, r.Episode.Announced(), r.ClaimedBy)
					}
				}
				e.clock.Advance(5 * time.Minute)
			}

			sum := e.run(m, 20*time.Second) // SNS is back
			got := e.received()
			if ev := events(got); len(got) != len(failing) || len(ev["FAILED"]) != len(failing) || sum.NotificationsSent != len(failing) {
				t.Errorf("the run after the outage sent %v (summary %+v), want FAILED once for each of %v", keys(got), sum, failing)
			}
			for _, id := range failing {
				if r := e.records()[id]; !r.Episode.Announced() || len(r.Attempted) != 0 {
					t.Errorf("%s after SNS came back: %+v, want announced, nothing attempted", id, r)
				}
			}
			e.clock.Advance(5 * time.Minute)
			e.run(m, 20*time.Second)
			if got := e.received(); len(got) != 0 {
				t.Errorf("the run after that sent %v, want nothing", keys(got))
			}
		})
	}
}

// step is where a crash kills a run.
type step int

const (
	beforeClaim step = iota // the claim write never starts
	afterClaim              // the claim is stored, nothing published
	midPublish              // SNS took the PublishBatch, its answer never came back
	beforeMark              // SNS confirmed, the mark write never starts
	afterMark               // the mark is stored, the run dies before returning
)

func (s step) String() string {
	return [...]string{"before the claim write", "after the claim write", "mid-PublishBatch",
		"before the mark write", "after the mark write"}[s]
}

// errDead is every call of a process that crashed: nothing of it reaches AWS any more.
var errDead = errors.New("the process is dead")

// crash kills a run at one step: it ends the run's context and fails every later store and
// SNS call at once, as nothing of a dead process reaches AWS. unanswered is set when the run
// died after SNS took its PublishBatch and before its mark write was stored: an attempt whose
// answer the run never recorded.
type crash struct {
	at         step
	die        context.CancelFunc
	dead       atomic.Bool
	claimed    atomic.Bool // the claim write went through
	unanswered atomic.Bool
	store      monitor.Store
	publisher  monitor.Publisher
	proxy      *faultproxy.Proxy
}

func (c *crash) kill() { c.dead.Store(true); c.die() }

func (c *crash) All(ctx context.Context) ([]status.Record, error) {
	if c.dead.Load() {
		return nil, errDead
	}
	return c.store.All(ctx)
}

func (c *crash) Get(ctx context.Context, ids []string) ([]status.Record, error) {
	if c.dead.Load() {
		return nil, errDead
	}
	return c.store.Get(ctx, ids)
}

func (c *crash) Save(ctx context.Context, recs []status.Record) ([]string, error) {
	if c.dead.Load() {
		return nil, errDead
	}
	claim := false
	for _, r := range recs {
		claim = claim || r.ClaimedBy != ""
	}
	mark := !claim && c.claimed.Load()
	if (claim && c.at == beforeClaim) || (mark && c.at == beforeMark) {
		c.kill()
		return nil, errDead
	}
	conflicts, err := c.store.Save(ctx, recs)
	if claim && err == nil {
		c.claimed.Store(true)
	}
	if (claim && c.at == afterClaim) || (mark && c.at == afterMark) {
		c.kill()
		return nil, errDead
	}
	return conflicts, err
}

func (c *crash) Publish(ctx context.Context, ns []status.Notification) []error {
	dead := func() []error {
		errs := make([]error, len(ns))
		for i := range errs {
			errs[i] = errDead
		}
		return errs
	}
	if c.dead.Load() {
		return dead()
	}
	if c.at == midPublish {
		// SNS applies the call; the connection then drops, and the process with it.
		c.proxy.Inject("PublishBatch", 1, faultproxy.Fault{AfterForward: true, Reset: true})
		c.publisher.Publish(ctx, ns)
		c.unanswered.Store(true)
		c.kill()
		return dead()
	}
	errs := c.publisher.Publish(ctx, ns)
	if c.at == beforeMark {
		c.unanswered.Store(true) // the mark that would record the answer is never written
	}
	return errs
}

// TestCrashMatrix (issue 18.1): a run is killed at each step of its work (before and after the
// claim write, mid-PublishBatch, before and after the mark write), twice in a row, and then
// runs go on healthy. Every FAILED is delivered at least once, with one notificationId per
// number, and at most once more per run that died with its attempt unanswered. Two crashes
// right after the claim write leave the episode unannounced (before issue 18 the claim noted
// the notification as attempted, the second as repeated, and the third run marked it sent:
// "announced", with nothing ever delivered).
func TestCrashMatrix(t *testing.T) {
	parallel(t)
	for at := beforeClaim; at <= afterMark; at++ {
		t.Run(at.String(), func(t *testing.T) {
			parallel(t)
			e := newEnv(t)
			failing := ids(1, 2)
			e.put("FAILED", failing...)
			e.put("CLAIMED", ids(2, 1)...)
			proxy := faultproxy.New(t, e.moto)
			unanswered := 0
			for round := range 2 {
				ctx, die := context.WithTimeout(context.Background(), 20*time.Second)
				c := &crash{at: at, die: die, store: e.store(), publisher: e.publisherVia(proxy.URL, e.topic), proxy: proxy}
				m := e.monitor()
				m.Store, m.Publisher = c, c
				_, _ = m.Run(ctx, monitor.Scope{Scheduled: true})
				die()
				if c.unanswered.Load() {
					unanswered++
				}
				if at <= afterClaim {
					for _, id := range failing {
						if r := e.records()[id]; r.Episode.Announced() {
							t.Errorf("crash %d %s: %s announced with nothing delivered: %+v", round+1, at, id, r)
						}
					}
				}
				e.clock.Advance(2 * time.Minute) // past the dead run's claim
			}
			for range 2 {
				e.run(e.monitor(), 20*time.Second)
				e.clock.Advance(5 * time.Minute)
			}

			got := e.received()
			ids := map[string]map[string]bool{}
			for _, msg := range got {
				if msg.Event != "FAILED" {
					t.Errorf("delivered %s, want only FAILED", msg.key())
					continue
				}
				if ids[msg.PhoneNumberID] == nil {
					ids[msg.PhoneNumberID] = map[string]bool{}
				}
				ids[msg.PhoneNumberID][msg.NotificationID] = true
			}
			for _, id := range failing {
				n := events(got)["FAILED"][id]
				if n < 1 || n > 1+unanswered {
					t.Errorf("%s: FAILED delivered %d times with %d unanswered attempts, want 1 to %d", id, n, unanswered, 1+unanswered)
				}
				if len(ids[id]) != 1 {
					t.Errorf("%s: notificationIds %v, want one", id, ids[id])
				}
				if r := e.records()[id]; !r.Episode.Announced() || r.ClaimedBy != "" || len(r.Attempted) != 0 {
					t.Errorf("%s at the end: %+v, want announced, released, nothing attempted", id, r)
				}
			}
			t.Logf("%s twice: %s", at, fmt.Sprint(events(got)["FAILED"]))
		})
	}
}
