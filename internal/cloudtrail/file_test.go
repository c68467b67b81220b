package cloudtrail_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/cloudtrail"
	"github.com/phonewatch/phonewatch/internal/status"
)

func TestLoadFileSample(t *testing.T) {
	f, err := cloudtrail.LoadFile("../../testdata/sample-cloudtrail.json")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	ops, err := f.Lookup(context.Background(), now.Add(-24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	// The refused UpdatePhoneNumber, the DescribePhoneNumber and the CreateQueue are left out.
	want := []status.Operation{{
		Name: status.OpClaim, At: time.Date(2026, 11, 26, 5, 12, 7, 0, time.UTC),
		By:        "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/alice",
		TargetARN: "arn:aws:connect:us-east-1:123456789012:instance/2b6f9c41-7e05-4a8d-b1c3-d84e0f5a9276",
		EventID:   "f2c97a13-58e4-4d0b-a6f1-c3e8b52d9a70", PhoneNumberID: "7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a95",
		PhoneNumberARN: "arn:aws:connect:us-east-1:123456789012:phone-number/7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a95",
		E164:           "+18005550100",
	}, {
		Name: status.OpClaim, At: time.Date(2026, 11, 26, 5, 55, 31, 0, time.UTC),
		By:        "arn:aws:sts::123456789012:assumed-role/NetworkOps/bob",
		TargetARN: "arn:aws:connect:us-east-1:123456789012:traffic-distribution-group/9d04e7b2-15ac-4f68-8e3b-a7c52f1d0e49",
		EventID:   "3e8c1f52-7a0d-4b96-a2e4-5d9f0c7b1a36", PhoneNumberID: "5a8d2f61-c047-4b9e-a3d5-6e1f7b20c948",
		PhoneNumberARN: "arn:aws:connect:us-east-1:123456789012:phone-number/5a8d2f61-c047-4b9e-a3d5-6e1f7b20c948",
		E164:           "+442079460958",
	}}
	if len(ops) != len(want) {
		t.Fatalf("got %d operations, want %d: %+v", len(ops), len(want), ops)
	}
	for i := range want {
		if ops[i] != want[i] {
			t.Errorf("operation %d:\n got %+v\nwant %+v", i, ops[i], want[i])
		}
	}
	// [from, to): the later claim is at 05:55:31 exactly.
	ops, _ = f.Lookup(context.Background(), now.Add(-time.Hour), time.Date(2026, 11, 26, 5, 55, 31, 0, time.UTC))
	if len(ops) != 1 || ops[0].E164 != "+18005550100" {
		t.Errorf("up to 05:55:31 got %+v, want only the 05:12:07 claim", ops)
	}
}

const goodRecord = `{\"eventName\":\"ReleasePhoneNumber\",\"eventID\":\"e1\",\"requestParameters\":{\"phoneNumberId\":\"n1\"}}`

func TestLoadFileEventTimes(t *testing.T) {
	for _, c := range []struct{ name, eventTime string }{
		{"epoch seconds (CLI v1)", `1795669927`},
		{"epoch with fraction", `1795669927.0`},
		{"ISO 8601 (CLI v2)", `"2026-11-26T05:12:07+00:00"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, `{"Events":[{"EventId":"e1","EventTime":`+c.eventTime+`,"CloudTrailEvent":"`+goodRecord+`"}]}`)
			f, err := cloudtrail.LoadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ops, _ := f.Lookup(context.Background(), time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
			if want := time.Date(2026, 11, 26, 5, 12, 7, 0, time.UTC); len(ops) != 1 || !ops[0].At.Equal(want) {
				t.Fatalf("got %+v, want one release at %s (from EventTime, the record has none)", ops, want)
			}
		})
	}
}

func TestLoadFileBadInput(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"not JSON", `Events:`, "not the output of aws cloudtrail lookup-events"},
		{"no Events", `{"events2":[]}`, `no "Events" array`},
		{"record not a string", `{"Events":[{"EventId":"e1","CloudTrailEvent":{"eventName":"x"}}]}`, `Events[0] (EventId "e1"): CloudTrailEvent is not a JSON string`},
		{"bad EventTime", `{"Events":[{"EventId":"e1","EventTime":"yesterday","CloudTrailEvent":"` + goodRecord + `"}]}`, `Events[0] (EventId "e1"): EventTime "yesterday"`},
		{"no time at all", `{"Events":[{"EventId":"e1","CloudTrailEvent":"` + goodRecord + `"}]}`, `Events[0] (EventId "e1"): malformed CloudTrail record e1: no eventTime`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.body)
			_, err := cloudtrail.LoadFile(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %s and saying %q", err, path, c.want)
			}
		})
	}
	if _, err := cloudtrail.LoadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("a missing file: err = %v", err)
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
