package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// A notification carrying hostile CloudTrail values (a 300 KB caller ARN) fits as Publish sends
// it; rendered uncapped, it would not.
func TestFits(t *testing.T) {
	at := time.Date(2026, 11, 20, 5, 0, 0, 0, time.UTC)
	huge := "arn:aws:sts::123456789012:assumed-role/" + strings.Repeat("b", 300*1024)
	n := status.Notification{Event: status.EventFailed, Number: status.Number{ID: "00000000-0000-4000-8000-000000000001",
		E164: "+18005550100"}, Status: status.Failed, ObservedAt: at, FailedSince: at, RetryDeadline: at.Add(24 * time.Hour),
		Basis: status.BasisOperation, Failure: status.FailureUpdate, ID: "id",
		Operation: &status.Operation{Name: status.OpUpdate, At: at.Add(-time.Minute), By: huge, EventID: "e"}}
	if err := Fits(n); err != nil {
		t.Fatalf("Fits: %v", err)
	}
	if msg, err := Message(n); err != nil || len(msg) < 256*1024 {
		t.Fatalf("uncapped: %d bytes, %v; the test needs a notification too large uncapped", len(msg), err)
	}
}
