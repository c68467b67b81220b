package notify_test

import (
	"fmt"
	"time"

	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/status"
)

// A FAILED claim seen at 05:40, after a check at 05:35 that saw the number IN_PROGRESS: the
// deadline is that check plus one day, and the subject says so in one ASCII line.
func ExampleSubject() {
	seen := time.Date(2026, 11, 26, 5, 40, 0, 0, time.UTC)
	n := status.Notification{
		Event:  status.EventFailed,
		Status: status.Failed,
		Number: status.Number{ID: "7f1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d", E164: "+18005550100",
			CountryCode: "US", Type: "TOLL_FREE"},
		ObservedAt:    seen,
		FailedSince:   seen,
		RetryDeadline: time.Date(2026, 11, 27, 5, 35, 0, 0, time.UTC),
		Basis:         status.BasisTransition,
		Failure:       status.FailureClaim,
		ID:            "3f0c-failed",
	}
	fmt.Println(notify.Subject(n))
	fmt.Println(notify.Attributes(n))
	// Output:
	// [FAILED] +1 800 555 0100 claim failed - retry before 2026-11-27 05:35 UTC
	// map[countryCode:US event:FAILED notificationId:3f0c-failed numberType:TOLL_FREE status:FAILED]
}

// A vanished number: the machine JSON says NOT_FOUND, and keeps the episode's deadline.
func ExampleMachine() {
	n := status.Notification{
		Event:         status.EventExpired,
		Status:        status.NotFound,
		Number:        status.Number{ID: "7f1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d", E164: "+18005550100"},
		ObservedAt:    time.Date(2026, 11, 27, 8, 35, 0, 0, time.UTC),
		FailedSince:   time.Date(2026, 11, 26, 5, 40, 0, 0, time.UTC),
		RetryDeadline: time.Date(2026, 11, 27, 5, 35, 0, 0, time.UTC),
		Basis:         status.BasisTransition,
	}
	b, err := notify.Machine(n)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// {"schemaVersion":"1","event":"EXPIRED","phoneNumberId":"7f1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d","phoneNumberArn":"","phoneNumber":"+18005550100","countryCode":"","numberType":"","targetArn":"","instanceId":"","status":"NOT_FOUND","statusMessage":"","description":"","failedSince":"2026-11-26T05:40:00Z","retryDeadline":"2026-11-27T05:35:00Z","deadlineBasis":"transition","observedAt":"2026-11-27T08:35:00Z"}
}
