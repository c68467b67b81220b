package monitor_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	sdkconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/store"
)

// history builds the record a number has after being seen with these statuses at these
// times, every notification delivered except, when owe is true, the last check's.
func history(t *testing.T, id string, owe bool, seen ...struct {
	st string
	at time.Time
}) status.Record {
	t.Helper()
	var prev *status.Record
	for i, s := range seen {
		sum := connecttest.NewSummary(id, e164(id), "", s.st, msgFor(s.st))
		obs, err := status.Validate(&sum, s.at)
		if err != nil {
			t.Fatal(err)
		}
		next, notes := status.Decide(prev, obs, status.DefaultPolicy())
		if !owe || i < len(seen)-1 {
			for _, n := range notes {
				next.MarkSent(n)
			}
		}
		prev = &next
	}
	return *prev
}

type seen = struct {
	st string
	at time.Time
}

// seed stores records as a previous run would have left them.
func (e *env) seed(recs ...status.Record) {
	e.t.Helper()
	if conflicts, err := e.store().Save(context.Background(), recs); err != nil || len(conflicts) > 0 {
		e.t.Fatalf("seed state: %v %v", conflicts, err)
	}
}

// describeOrder returns the IDs in the order the Connect client sent DescribePhoneNumber.
func describeOrder(c *counter) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.paths {
		if rest, ok := strings.CutPrefix(p, "/phone-number/"); ok && rest != "list" {
			out = append(out, monitor.IDOf(rest))
		}
	}
	return out
}

// TestOrderOfWork: a run describes the FAILED and IN_PROGRESS numbers and those owing a
// notification first (checked longest ago first among them), then the never-checked ones, then
// the rest oldest check first: the order of the Connect client's requests with one in flight.
func TestOrderOfWork(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	now := e.clock.Now()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	id := func(i int) string { return ids(1, 8)[i] }
	failed, inProgress, owesRecovered, fresh, old3h, old1h, old2h := id(0), id(1), id(2), id(3), id(4), id(5), id(6)

	e.seed(
		history(t, old1h, false, seen{"CLAIMED", ago(time.Hour)}),
		history(t, failed, false, seen{"FAILED", ago(10 * time.Minute)}),
		history(t, old3h, false, seen{"CLAIMED", ago(3 * time.Hour)}),
		history(t, owesRecovered, true, seen{"FAILED", ago(20 * time.Minute)}, seen{"CLAIMED", ago(time.Minute)}),
		history(t, old2h, false, seen{"CLAIMED", ago(2 * time.Hour)}),
		history(t, inProgress, false, seen{"IN_PROGRESS", ago(5 * time.Minute)}),
	)
	e.put("CLAIMED", old1h, old2h, old3h, owesRecovered, fresh)
	e.put("FAILED", failed)
	e.put("IN_PROGRESS", inProgress)

	requests := &counter{}
	m := e.monitor()
	m.InFlight = 1
	m.Source = e.source(0, 1, func(o *sdkconnect.Options) {
		requests.next = o.HTTPClient
		o.HTTPClient = requests
	})
	sum := e.run(m, 20*time.Second)
	if sum.Checked != 7 {
		t.Fatalf("checked %d, want 7", sum.Checked)
	}
	want := []string{failed, inProgress, owesRecovered, fresh, old3h, old2h, old1h}
	if got := describeOrder(requests); !slices.Equal(got, want) {
		t.Errorf("describe order\n got %v\nwant %v", got, want)
	}
	if ev := events(e.received()); len(ev["RECOVERED"]) != 1 {
		t.Errorf("sent %v, want the owed RECOVERED", ev)
	}
}

// TestTimeBudget: runs with an 8 s deadline over more numbers than fit at 5 describes/s
// return before their deadline, incomplete, with every number they checked saved; the FAILED
// numbers are checked in every run, and consecutive runs cover every number.
func TestTimeBudget(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	all := ids(1, 40)
	failing := all[:3]
	now := e.clock.Now()
	for _, id := range failing {
		e.seed(history(t, id, false, seen{"FAILED", now.Add(-time.Minute)}))
	}
	e.put("FAILED", failing...)
	e.put("CLAIMED", all[3:]...)

	m := e.monitor()
	m.Source = e.source(5, 1)
	m.InFlight = 2
	// Room for a slow moto_server, shared with other packages' tests: its transactions copy the
	// table per item. The whole reserve is at most a quarter of the run's 8 s, so the run checks
	// for about 6 s, about 30 numbers at 5/s, and saves them in the 2 s kept.
	m.FinishReserve = 2 * time.Second

	covered := map[string]bool{}
	for run := 1; len(covered) < len(all); run++ {
		if run > 5 {
			t.Fatalf("5 runs covered %d of %d numbers", len(covered), len(all))
		}
		e.connect.ResetCounters()
		start := e.clock.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		sum, err := m.Run(ctx, monitor.Scope{Scheduled: true})
		late := ctx.Err()
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if late != nil {
			t.Errorf("run %d returned after its deadline", run)
		}
		var described []string
		for _, id := range all {
			switch n := e.connect.Describes(id); {
			case n > 1:
				t.Errorf("run %d described %s %d times", run, id, n)
			case n == 1:
				described = append(described, id)
				covered[id] = true
			}
		}
		t.Logf("run %d: checked %d, complete %v, %d ms", run, len(described), sum.Complete, sum.DurationMs)
		if sum.Checked != len(described) || sum.Complete != (len(described) == len(all)) {
			t.Errorf("run %d: summary %+v for %d described of %d", run, sum, len(described), len(all))
		}
		for _, id := range failing {
			if !slices.Contains(described, id) {
				t.Errorf("run %d did not check FAILED %s", run, id)
			}
		}
		var saved []string
		for id, r := range e.records() {
			if !r.CheckedAt.Before(start) {
				saved = append(saved, id)
			}
		}
		slices.Sort(saved)
		if !slices.Equal(saved, described) {
			t.Errorf("run %d saved %d records, checked %d: every check must be saved, and only those", run, len(saved), len(described))
		}
		if run == 1 && sum.Complete {
			t.Errorf("run 1 complete: the test needs more numbers than fit")
		}
	}
	if got := e.received(); len(got) != 0 {
		t.Errorf("sent %v; the FAILED numbers were announced before", keys(got))
	}
}

// TestOneDescribePerNumberAtTheAgreedRate: at the same request rate on both sides, the run
// describes each number exactly once and Connect throttles nothing.
func TestOneDescribePerNumberAtTheAgreedRate(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	all := ids(1, 30)
	e.put("CLAIMED", all[5:]...)
	e.put("FAILED", all[:5]...)
	// The client's rate and burst, as cmd/handler wires them (InFlight formula included). The
	// server's bucket has the same rate and 2 more tokens: a bucket of exactly the client's
	// size throttles whenever one request reaches it a little later than the next (a new
	// connection, scheduling), which Connect's real quota absorbs over its wider windows.
	const rps, burst = 10, 3
	e.connect.SetRateLimit(rps, burst+2)
	m := e.monitor()
	m.Source = e.source(rps, burst)
	m.InFlight = min(64, max(2, rps/2+burst))

	sum := e.run(m, 30*time.Second)
	if !sum.Complete || sum.Checked != len(all) || len(sum.Errors) != 0 {
		t.Errorf("summary %+v, want all %d checked", sum, len(all))
	}
	if n := e.connect.Throttled(); n != 0 {
		t.Errorf("Connect throttled %d requests", n)
	}
	for _, id := range all {
		if n := e.connect.Describes(id); n != 1 {
			t.Errorf("%s described %d times, want once", id, n)
		}
	}
	if n := e.connect.TotalDescribes(); n != len(all) {
		t.Errorf("%d describes in all, want %d", n, len(all))
	}
}

// TestUnchangedNumbersFewDynamoDBCalls: a run over many unchanged numbers describes each
// once and makes DynamoDB calls by the hundred records, not by the number: one Scan (a page
// holds thousands of these records) and one TransactWriteItems per 100 records saved, counted
// at the DynamoDB client's HTTP layer, retries included, while saving every record.
//
// 300 numbers, not 1000: moto_server copies the whole table for every item of a
// TransactWriteItems, so saving n records into a table of n costs it O(n²): 1000 take about a
// minute of its time (the same run over 1000 made 11 calls), 300 a few seconds. A per-number
// call would show here as 300 calls against the 6 allowed. The test runs alone, not in
// parallel, so that moto's load does not eat into the other tests' deadlines; the numbers
// carry only the fields Connect must give (fewer attributes to copy), and the state a previous
// run left is seeded with BatchWriteItem, which moto does not copy the table for.
func TestUnchangedNumbersFewDynamoDBCalls(t *testing.T) {
	const n = 300
	motoURL(t)
	e := newEnv(t)
	all := ids(1, n)
	claimed := "CLAIMED"
	before := e.clock.Now().Add(-5 * time.Minute)
	var seeds []status.Record
	for _, id := range all {
		e.connect.Put(status.Summary{
			PhoneNumberID:     aws.String(id),
			PhoneNumber:       aws.String(e164(id)),
			PhoneNumberStatus: &status.PhoneNumberStatus{Status: &claimed},
		})
		seeds = append(seeds, status.Record{
			Number: status.Number{ID: id, E164: e164(id)}, Status: status.Claimed,
			CheckedAt: before, NotFailedAt: before, Version: 1,
		})
	}
	e.seedBatch(seeds)

	calls := &counter{}
	m := e.monitor()
	m.Targets = nil // the whole account: these numbers have no target
	m.InFlight = 16
	m.StoreTimeout = time.Minute // seconds per transaction in moto, see above
	m.Store = store.NewDynamo(e.dynamo(func(next aws.HTTPClient) aws.HTTPClient {
		calls.next = next
		return calls
	}), e.table)
	sum := e.run(m, 2*time.Minute)
	if sum.Checked != n || !sum.Complete || sum.NotificationsSent != 0 || len(sum.Errors) != 0 {
		t.Errorf("summary %+v", sum)
	}
	if got, limit := calls.count(), 1+(n+99)/100+2; got > limit {
		t.Errorf("%d DynamoDB calls for %d unchanged numbers, want at most %d (a Scan, a transaction per 100)", got, n, limit)
	}
	if got := e.connect.TotalDescribes(); got != n {
		t.Errorf("%d describes, want %d", got, n)
	}
	recs := e.records()
	if len(recs) != n {
		t.Errorf("%d records, want %d", len(recs), n)
	}
	for id, r := range recs {
		if e.connect.Describes(id) != 1 || r.Version != 2 || !r.CheckedAt.After(before) {
			t.Errorf("%s: %d describes, record %+v; want one describe, saved once", id, e.connect.Describes(id), r)
			break
		}
	}
}

// seedBatch writes records with BatchWriteItem, attributes as store.Dynamo writes them
// (zero times left out, times as RFC 3339 strings), each stored as it is (Version unchanged).
func (e *env) seedBatch(recs []status.Record) {
	e.t.Helper()
	client := e.dynamo(nil)
	for chunk := range slices.Chunk(recs, 25) {
		var puts []ddbtypes.WriteRequest
		for _, r := range chunk {
			item, err := attributevalue.MarshalMapWithOptions(r, func(o *attributevalue.EncoderOptions) {
				o.OmitEmptyTime = true
				o.EncodeTime = func(t time.Time) (ddbtypes.AttributeValue, error) {
					return &ddbtypes.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)}, nil
				}
			})
			if err != nil {
				e.t.Fatal(err)
			}
			puts = append(puts, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: item}})
		}
		out, err := client.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]ddbtypes.WriteRequest{e.table: puts},
		})
		if err != nil || len(out.UnprocessedItems) > 0 {
			e.t.Fatalf("seed: %v, %d unprocessed", err, len(out.UnprocessedItems))
		}
	}
}
