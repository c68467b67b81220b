package notify

import (
	"fmt"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// SchemaVersion is the version of MachineMessage. A consumer checks it before reading further;
// it changes only with an incompatible change of the fields below.
const SchemaVersion = "1"

// MachineMessage is the machine JSON of DESIGN.md's notification contract, the SNS `sqs`,
// `lambda`, `email-json` and `firehose` keys: exactly these fields, camelCase, times in RFC 3339
// UTC to the second (time.RFC3339).
//
// Empty strings: every string field of the number and status is always present, "" when Connect
// gave nothing (e.g. no statusMessage), so that consumers see one fixed shape. What depends on the
// event is present only for it: failedSince, retryDeadline and deadlineBasis for FAILED,
// REMINDER, EXPIRED and RECOVERED; inProgressSince for STUCK.
//
// status is the status seen at observedAt: Connect's CLAIMED, IN_PROGRESS or FAILED, or
// NOT_FOUND when Connect answered ResourceNotFoundException (an EXPIRED for a vanished number).
type MachineMessage struct {
	SchemaVersion   string `json:"schemaVersion"`
	Event           string `json:"event"`
	PhoneNumberID   string `json:"phoneNumberId"`
	PhoneNumberARN  string `json:"phoneNumberArn"`
	PhoneNumber     string `json:"phoneNumber"`
	CountryCode     string `json:"countryCode"`
	NumberType      string `json:"numberType"`
	TargetARN       string `json:"targetArn"`
	InstanceID      string `json:"instanceId"`
	Status          string `json:"status"`
	StatusMessage   string `json:"statusMessage"`
	FailedSince     string `json:"failedSince,omitempty"`
	RetryDeadline   string `json:"retryDeadline,omitempty"`
	DeadlineBasis   string `json:"deadlineBasis,omitempty"`
	InProgressSince string `json:"inProgressSince,omitempty"`
	ObservedAt      string `json:"observedAt"`
}

// newMachineMessage fills a MachineMessage from n; values are as Connect gave them (JSON
// encoding takes care of control characters).
func newMachineMessage(n status.Notification) MachineMessage {
	m := MachineMessage{
		SchemaVersion:  SchemaVersion,
		Event:          string(n.Event),
		PhoneNumberID:  n.Number.ID,
		PhoneNumberARN: n.Number.ARN,
		PhoneNumber:    n.Number.E164,
		CountryCode:    n.Number.CountryCode,
		NumberType:     n.Number.Type,
		TargetARN:      n.Number.TargetARN,
		InstanceID:     n.Number.InstanceID,
		Status:         string(n.Status),
		StatusMessage:  n.StatusMessage,
		ObservedAt:     rfc3339(n.ObservedAt),
	}
	switch n.Event {
	case status.EventFailed, status.EventReminder, status.EventExpired, status.EventRecovered:
		m.FailedSince = rfc3339(n.FailedSince)
		m.RetryDeadline = rfc3339(n.RetryDeadline)
		m.DeadlineBasis = string(n.Basis)
	case status.EventStuck:
		m.InProgressSince = rfc3339(n.InProgressSince)
	}
	return m
}

// Machine is n as machine JSON (see MachineMessage), compact, one line.
func Machine(n status.Notification) ([]byte, error) {
	b, err := marshal(newMachineMessage(n))
	if err != nil {
		return nil, fmt.Errorf("render machine JSON for %s %s: %w", n.Event, n.Number.ID, err)
	}
	return b, nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
