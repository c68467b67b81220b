package monitor_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/store"
)

// TestBadCursorHealsOnce (issue 18.3): the CloudTrail cursor item in the state table is not a
// time (a string) or lies in 2099. The next scheduled run reads operations anyway, replaces
// the cursor with its own, and names it once in errors (not a failed run); the run after reads
// from the healed cursor with no such error. Before issue 18 the string meant a whole window
// read every run with only a WARN, and 2099 stopped the cursor for ever, with no error at all.
func TestBadCursorHealsOnce(t *testing.T) {
	parallel(t)
	testCases := []struct {
		name  string
		value ddbtypes.AttributeValue
	}{
		{"a string", &ddbtypes.AttributeValueMemberS{Value: "2026-11-26T05:40:00Z"}},
		{"in 2099", &ddbtypes.AttributeValueMemberN{Value: "4070908800000000000"}},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			parallel(t)
			e := newEnv(t)
			e.put("CLAIMED", ids(1, 2)...)
			if _, err := e.dynamo(nil).PutItem(context.Background(), &dynamodb.PutItemInput{
				TableName: aws.String(e.table),
				Item: map[string]ddbtypes.AttributeValue{
					"phoneNumberId": &ddbtypes.AttributeValueMemberS{Value: store.ReservedPrefix + "cloudtrail-cursor"},
					"cursor":        tc.value,
				},
			}); err != nil {
				t.Fatal(err)
			}
			var (
				mu    sync.Mutex
				froms []time.Time
			)
			m := e.monitor()
			st := e.store()
			m.Store, m.Cursor = st, st
			m.Operations = fakeOperations(func(_ context.Context, from, to time.Time) ([]status.Operation, error) {
				// The recent reads (up to now); a look-back for new numbers ends where they start.
				if to.After(e.clock.Now().Add(-time.Minute)) {
					mu.Lock()
					froms = append(froms, from)
					mu.Unlock()
				}
				return nil, nil
			})

			sum := e.run(m, 20*time.Second)
			named := 0
			for _, ne := range sum.Errors {
				if strings.Contains(ne.Error, "cloudtrail cursor") && strings.Contains(ne.Error, "replaced") {
					named++
				}
			}
			if named != 1 || len(sum.Errors) != 1 {
				t.Errorf("first run errors %+v, want the replaced cursor named once", sum.Errors)
			}
			c, err := st.Cursor(context.Background())
			if err != nil || c.IsZero() || c.After(e.clock.Now()) {
				t.Errorf("cursor after the first run: %v, %v; want this run's time", c, err)
			}

			e.clock.Advance(5 * time.Minute)
			sum = e.run(m, 20*time.Second)
			if len(sum.Errors) != 0 {
				t.Errorf("second run errors %+v, want none (healed once)", sum.Errors)
			}
			if len(froms) != 2 || froms[1].Before(c.Add(-time.Hour)) || froms[1].After(c) {
				t.Errorf("reads from %v, want the second from the healed cursor %v less the overlap", froms, c)
			}
		})
	}
}
