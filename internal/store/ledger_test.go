package store

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/phonewatch/phonewatch/internal/budget"
	"github.com/phonewatch/phonewatch/internal/status"
)

// ledgerStore is what both stores offer for the budget.
type ledgerStore interface {
	AddLedger(ctx context.Context, entries []budget.Entry) error
	Ledger(ctx context.Context, since time.Time) ([]budget.Entry, error)
	BudgetAccount(ctx context.Context) (budget.Account, error)
	SaveBudgetAccount(ctx context.Context, a budget.Account) (bool, error)
	All(ctx context.Context) ([]status.Record, error)
	Save(ctx context.Context, recs []status.Record) ([]string, error)
}

var ledgerT0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func ledgerEntries(n int) []budget.Entry {
	out := make([]budget.Entry, n)
	for i := range out {
		name := budget.OpClaim
		if i%2 == 1 {
			name = budget.OpRelease
		}
		out[i] = budget.Entry{EventID: "ev-" + strconv.Itoa(i), Name: name, At: ledgerT0.Add(time.Duration(i) * time.Hour),
			By: "arn:aws:iam::123456789012:user/bulk", Number: "pn-" + strconv.Itoa(i)}
	}
	return out
}

// testLedger checks the contract both stores keep: idempotent by event ID, filtered by time,
// invisible to All, and an account item under an optimistic version.
func testLedger(t *testing.T, s ledgerStore) {
	ctx := context.Background()
	if _, err := s.Save(ctx, []status.Record{{Number: status.Number{ID: "pn-1"}, Status: status.Claimed, CheckedAt: ledgerT0}}); err != nil {
		t.Fatal(err)
	}
	es := ledgerEntries(30) // more than one BatchWriteItem
	if err := s.AddLedger(ctx, es); err != nil {
		t.Fatal(err)
	}
	if err := s.AddLedger(ctx, es[:5]); err != nil { // read again by an overlapping run
		t.Fatal(err)
	}
	got, err := s.Ledger(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 || got[0] != es[0] || got[29] != es[29] {
		t.Fatalf("ledger has %d entries (first %+v), want the 30 stored once each", len(got), got[0])
	}
	later, err := s.Ledger(ctx, ledgerT0.Add(19*time.Hour))
	if err != nil || len(later) != 10 {
		t.Fatalf("entries after hour 19: %d, %v; want 10", len(later), err)
	}
	recs, err := s.All(ctx)
	if err != nil || len(recs) != 1 || recs[0].ID != "pn-1" {
		t.Fatalf("All must return only the record, got %d records (%v)", len(recs), err)
	}

	a, err := s.BudgetAccount(ctx)
	if err != nil || a.Version != 0 {
		t.Fatalf("no item yet: %+v %v", a, err)
	}
	a.Coverage = budget.Coverage{Since: ledgerT0.Add(-budget.Retention), To: ledgerT0}
	a.State = budget.State{Announced: 75}
	if conflict, err := s.SaveBudgetAccount(ctx, a); conflict || err != nil {
		t.Fatalf("first save: conflict %v err %v", conflict, err)
	}
	if conflict, err := s.SaveBudgetAccount(ctx, a); !conflict || err != nil {
		t.Fatalf("a second save from version 0 must conflict: conflict %v err %v", conflict, err)
	}
	b, err := s.BudgetAccount(ctx)
	if err != nil || b.Version != 1 || b.State.Announced != 75 || !b.Coverage.To.Equal(ledgerT0) {
		t.Fatalf("read back %+v %v", b, err)
	}
	b.State.Announced = 100
	if conflict, err := s.SaveBudgetAccount(ctx, b); conflict || err != nil {
		t.Fatalf("save at version 1: conflict %v err %v", conflict, err)
	}
	if c, _ := s.BudgetAccount(ctx); c.Version != 2 || c.State.Announced != 100 {
		t.Fatalf("read back %+v", c)
	}
}

func TestFileLedger(t *testing.T) {
	testLedger(t, NewFile(filepath.Join(t.TempDir(), "state.json")))
}

func TestDynamoLedger(t *testing.T) {
	d, client := newTestDynamoClient(t, nil)
	testLedger(t, d)
	item := rawItem(t, client, d, ledgerPrefix+"ev-3")
	ttl, ok := item[ttlAttr].(*types.AttributeValueMemberN)
	want := strconv.FormatInt(ledgerT0.Add(3*time.Hour+LedgerTTL).Unix(), 10)
	if !ok || ttl.Value != want {
		t.Errorf("ledger entry TTL %v, want N %s (event time + 181 days)", item[ttlAttr], want)
	}
}
