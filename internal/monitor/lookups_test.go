package monitor_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkcloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	sdkconnect "github.com/aws/aws-sdk-go-v2/service/connect"

	"github.com/phonewatch/phonewatch/internal/cloudtrail"
	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
	"github.com/phonewatch/phonewatch/internal/connect"
	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// sequence is the order in which requests reached Connect and CloudTrail, across both.
type sequence struct {
	mu  sync.Mutex
	log []string
}

func (s *sequence) add(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, e)
}

func (s *sequence) entries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// logged is an HTTP client that writes each request into a sequence: a describe as
// "describe <id>" when it is sent; a lookup as "lookup" when sent and "looked up" when
// answered. Before a lookup is sent it waits for gate (nil: no wait), or the request's end.
type logged struct {
	next aws.HTTPClient
	seq  *sequence
	gate func() bool
}

func (l logged) Do(req *http.Request) (*http.Response, error) {
	if req.Header.Get("X-Amz-Target") == "" { // Connect: rest-json
		if req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/phone-number/") {
			l.seq.add("describe " + monitor.IDOf(strings.TrimPrefix(req.URL.Path, "/phone-number/")))
		}
		return l.next.Do(req)
	}
	for l.gate != nil && !l.gate() {
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	l.seq.add("lookup")
	resp, err := l.next.Do(req)
	l.seq.add("looked up")
	return resp, err
}

// TestDescribesBesideLookups (issue 17, 2): CloudTrail is read beside the describes, not in
// front of them. A FAILED number (described every run) is described while the lookups are
// under way: CloudTrail here answers nothing until Connect has been asked about it, which
// the old order (every lookup, then every describe) never does before the lookups give up.
// A CLAIMED number that only its UpdatePhoneNumber in CloudTrail makes worth describing is
// described after the lookups returned; and both decisions use the operations read: the
// FAILED number's ClaimPhoneNumber, shown late, tightens its deadline (DEADLINE), and the
// update is named as the failing call.
func TestDescribesBesideLookups(t *testing.T) {
	w := newWorld(t)
	failed, touched := ids(17, 2)[0], ids(17, 2)[1]
	clock := &clock{}
	conn := connecttest.NewServer()
	defer conn.Close()
	trail := cloudtrailtest.NewServer()
	defer trail.Close()
	trail.SetRateLimit(0, 0)
	conn.Put(connecttest.NewSummary(failed, e164(failed), "", "FAILED", msgFor("FAILED")))
	conn.Put(connecttest.NewSummary(touched, e164(touched), "", "CLAIMED", ""))

	seq := &sequence{}
	var gate func() bool
	cfg := awsConfig()
	source := connect.New(cfg, 0, 1, func(o *sdkconnect.Options) {
		o.BaseEndpoint = aws.String(conn.URL)
		o.HTTPClient = logged{next: o.HTTPClient, seq: seq}
	})
	reader := cloudtrail.New(cfg, func(o *cloudtrail.Options) {
		o.RPS = 0
		o.ByEventName = true
		o.ClientOptions = append(o.ClientOptions, func(co *sdkcloudtrail.Options) {
			co.BaseEndpoint = aws.String(trail.URL)
			co.HTTPClient = logged{next: co.HTTPClient, seq: seq, gate: func() bool { return gate == nil || gate() }}
		})
	})
	m := w.monitor()
	m.Source, m.Operations, m.Now, m.NewRunID = source, reader, clock.Now, nil
	m.Targets = []string{connecttest.DefaultInstanceARN}
	m.InFlight = 4
	run := func() monitor.Summary {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		sum, err := m.Run(ctx, scheduled)
		if err != nil || len(sum.Errors) > 0 {
			t.Fatalf("run: %v, errors %+v", err, sum.Errors)
		}
		return sum
	}

	run() // both new: FAILED at first sight (first-observation), CLAIMED
	first := clock.Now()
	if got := w.published(); len(got) != 1 || got[0].Basis != status.BasisFirstObservation {
		t.Fatalf("first run published %+v, want FAILED first-observation", got)
	}

	clock.Advance(5 * time.Minute)
	claimed := first.Add(-3 * time.Hour).UTC().Truncate(time.Second)
	updated := clock.Now().Add(-2 * time.Minute).UTC().Truncate(time.Second)
	trail.Add(cloudtrailtest.Claim(e164(failed), connecttest.DefaultInstanceARN, failed, "arn:aws:iam::123456789012:user/alice", claimed))
	trail.Add(cloudtrailtest.Update(touched, connecttest.DefaultInstanceARN, "arn:aws:iam::123456789012:user/bob", updated))
	conn.SetStatus(touched, "FAILED", msgFor("FAILED"))
	before := conn.Describes(failed)
	gate = func() bool { return conn.Describes(failed) > before }
	mark := len(seq.entries())
	run()

	got := seq.entries()[mark:]
	at := func(e string) int { return slices.Index(got, e) }
	lastAnswer := -1
	for i, e := range got {
		if e == "looked up" {
			lastAnswer = i
		}
	}
	switch {
	case at("describe "+failed) < 0 || at("looked up") < 0 || at("describe "+touched) < 0:
		t.Fatalf("requests %v: want a describe of each number and lookups", got)
	case at("describe "+failed) > at("looked up"):
		t.Errorf("requests %v: the FAILED number was described only after a lookup was answered", got)
	case at("describe "+touched) < lastAnswer:
		t.Errorf("requests %v: the touched number was described before the lookups were answered", got)
	}

	sent := map[string]status.Notification{}
	for _, n := range w.published() {
		sent[n.Number.ID] = n
	}
	if n, ok := sent[failed]; !ok || n.Event != status.EventDeadline || !n.RetryDeadline.Equal(claimed.Add(24*time.Hour)) {
		t.Errorf("FAILED number: %+v, want DEADLINE at the late claim + 24h (%v)", n, claimed.Add(24*time.Hour))
	}
	if n, ok := sent[touched]; !ok || n.Event != status.EventFailed || n.Basis != status.BasisOperation ||
		!n.RetryDeadline.Equal(updated.Add(24*time.Hour)) {
		t.Errorf("touched number: %+v, want FAILED, basis operation, the update + 24h (%v)", n, updated.Add(24*time.Hour))
	}
}

// TestLateUpdateReadBeforeTheSweep (issue 17, 2c): an UpdatePhoneNumber of a CLAIMED number
// whose event appears in CloudTrail 30 minutes late, past the 15-minute overlap, still marks
// the number touched: a run whose read crosses a quarter of SWEEP_EVERY reads SWEEP_EVERY
// back, so the number is described, and its failure announced with the update named, before
// the sweep would reach it. CloudTrail is the test server, read by the real reader; the cost
// is counted in lookups: one per operation name every run, the deeper reads included.
func TestLateUpdateReadBeforeTheSweep(t *testing.T) {
	w := newWorld(t)
	id, other := ids(18, 2)[0], ids(18, 2)[1]
	w.put("CLAIMED", id, other)
	trail := cloudtrailtest.NewServer()
	defer trail.Close()
	trail.SetRateLimit(0, 0)
	reader := cloudtrail.New(awsConfig(), func(o *cloudtrail.Options) {
		o.RPS = 0
		o.ByEventName = true
		o.ClientOptions = append(o.ClientOptions, func(co *sdkcloudtrail.Options) { co.BaseEndpoint = aws.String(trail.URL) })
	})
	m := w.monitor() // SWEEP_EVERY 1h, the clock at 05:40
	m.Operations = reader
	w.run(m, scheduled)
	checked := w.clock()
	w.described()

	call := checked.Add(8 * time.Minute)
	sweep := checked.Add(time.Hour)
	var lookups []int64
	announced, shown := time.Time{}, false
	for w.clock().Before(sweep) {
		w.advance(5 * time.Minute)
		now := w.clock()
		if now.After(call) {
			w.put("FAILED", id) // the update failed
		}
		if !now.Before(call.Add(30*time.Minute)) && !shown {
			shown = true
			trail.Add(cloudtrailtest.Update(id, connecttest.DefaultInstanceARN, "arn:aws:iam::123456789012:user/bob", call))
		}
		n0 := reader.Lookups()
		w.run(m, scheduled)
		lookups = append(lookups, reader.Lookups()-n0)
		for _, n := range w.published() {
			if n.Number.ID == id && n.Event == status.EventFailed && announced.IsZero() {
				announced = now
				if n.Basis != status.BasisOperation || n.Operation == nil || n.Operation.Name != status.OpUpdate {
					t.Errorf("FAILED %+v, want basis operation naming the update", n)
				}
			}
		}
	}
	if announced.IsZero() || !announced.Before(sweep) {
		t.Errorf("the failure was announced at %v, want before the sweep at %v (the event appeared at %v)",
			announced, sweep, call.Add(30*time.Minute))
	}
	for i, n := range lookups {
		if n != 3 {
			t.Errorf("run %d made %d lookups, want 3 (one per operation name): %v", i+1, n, lookups)
			break
		}
	}
}

// TestLateEventReReadCost (issue 17, 2c): what the deeper re-read costs, in lookups, in an
// account busy enough for it to matter: 2 UpdatePhoneNumber calls a minute on numbers nobody
// watches. A usual read (the 5 minutes since the cursor and the 15 of the overlap: 40 updates)
// takes one page per operation name, 3 lookups; a read an hour and 5 minutes back (130
// updates) takes 3 pages of updates, 5 lookups; it comes once in three runs. An hour of
// 5-minute runs costs 44 lookups: 36 without the deeper re-read, 60 with an overlap of an hour
// every run.
func TestLateEventReReadCost(t *testing.T) {
	w := newWorld(t)
	w.put("CLAIMED", ids(19, 1)...)
	trail := cloudtrailtest.NewServer()
	defer trail.Close()
	trail.SetRateLimit(0, 0)
	start := w.clock()
	for at := start.Add(-2 * time.Hour); at.Before(start.Add(2 * time.Hour)); at = at.Add(30 * time.Second) {
		other := "ffffffff-0000-4000-8000-" + at.Format("150405") + "000000"
		trail.Add(cloudtrailtest.Update(other, connecttest.DefaultInstanceARN, "arn:aws:iam::123456789012:user/ops", at))
	}
	reader := cloudtrail.New(awsConfig(), func(o *cloudtrail.Options) {
		o.RPS = 0
		o.ByEventName = true
		o.ClientOptions = append(o.ClientOptions, func(co *sdkcloudtrail.Options) { co.BaseEndpoint = aws.String(trail.URL) })
	})
	m := w.monitor()
	m.Operations = reader
	w.run(m, scheduled) // the first run looks back a window and an hour
	var per []int64
	total := int64(0)
	for range 12 {
		w.advance(5 * time.Minute)
		n0 := reader.Lookups()
		w.run(m, scheduled)
		n := reader.Lookups() - n0
		per = append(per, n)
		total += n
	}
	deep := 0
	for _, n := range per {
		switch n {
		case 3:
		case 5:
			deep++
		default:
			t.Fatalf("lookups per run %v: want 3, or 5 for a read an hour back", per)
		}
	}
	if deep != 4 || total != 44 {
		t.Errorf("lookups per run %v (%d in the hour), want one deeper read in three: 44", per, total)
	}
}
