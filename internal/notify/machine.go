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
//
// Additive fields of the same schema version, each present only when it applies:
// notificationId (the same on a repeat: drop a message whose ID you have seen); account and
// region (from the phone number's ARN); failure ("claim", "update" or "claim-or-update") and
// retries (failed retries in the chain, when any) for the FAILED episode events; failedAfter
// (basis transition: the last check that saw it not FAILED); latestRelease (when the deadline
// is a lower bound: the latest the number can be released); reminderOffset on REMINDER, as
// REMINDERS writes it ("6h"); operation, the latest Claim/Update CloudTrail shows before the
// failure (not proven to be the call that failed: an admin-website change leaves no trace), when
// known; previousDeadline when a new claim or update (the operation) restarted a failed chain's deadline, the deadline
// it had before, and on DEADLINE the deadline last announced, with reason ("operation": a
// failing call CloudTrail delivered late; "retry-window": a shorter RETRY_WINDOW); lastFailedAt and
// release for an EXPIRED of a number that is gone; operation on STUCK, the call that started
// it, when CloudTrail showed one. description is the number's description in Connect ("" when
// none), as the text and the chat show it. A TEST notification has event TEST, its
// notificationId, topicArn (the topic it was published to; its targetArn is ""), and the
// topic's account and Region.
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
	Description     string `json:"description"`
	FailedSince     string `json:"failedSince,omitempty"`
	RetryDeadline   string `json:"retryDeadline,omitempty"`
	DeadlineBasis   string `json:"deadlineBasis,omitempty"`
	InProgressSince string `json:"inProgressSince,omitempty"`
	ObservedAt      string `json:"observedAt"`

	NotificationID   string            `json:"notificationId,omitempty"`
	TopicARN         string            `json:"topicArn,omitempty"`
	Account          string            `json:"account,omitempty"`
	Region           string            `json:"region,omitempty"`
	Failure          string            `json:"failure,omitempty"`
	Retries          int               `json:"retries,omitempty"`
	FailedAfter      string            `json:"failedAfter,omitempty"`
	LatestRelease    string            `json:"latestRelease,omitempty"`
	ReminderOffset   string            `json:"reminderOffset,omitempty"`
	Operation        *MachineOperation `json:"operation,omitempty"`
	PreviousDeadline string            `json:"previousDeadline,omitempty"`
	LastFailedAt     string            `json:"lastFailedAt,omitempty"`
	// Reason is why a DEADLINE's deadline moved earlier: "operation" or "retry-window".
	Reason  string            `json:"reason,omitempty"`
	Release *MachineOperation `json:"release,omitempty"`
}

// MachineOperation is a Connect phone-number call from CloudTrail in the machine JSON.
type MachineOperation struct {
	Name      string `json:"name"`
	At        string `json:"at"`
	By        string `json:"by,omitempty"`
	TargetARN string `json:"targetArn,omitempty"`
	EventID   string `json:"eventId"`
}

func machineOperation(op *status.Operation) *MachineOperation {
	if op == nil {
		return nil
	}
	return &MachineOperation{Name: op.Name, At: rfc3339(op.At), By: op.By, TargetARN: op.TargetARN, EventID: op.EventID}
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
		Description:    n.Number.Description,
		ObservedAt:     rfc3339(n.ObservedAt),
		NotificationID: n.ID,
	}
	m.Account, m.Region = accountRegion(n.Number)
	switch n.Event {
	case status.EventFailed, status.EventReminder, status.EventExpired, status.EventRecovered, status.EventDeadline:
		m.episode(n)
	case status.EventStuck:
		m.InProgressSince = rfc3339(n.InProgressSince)
		m.Operation = machineOperation(stuckOperation(n))
	case status.EventTest:
		// The test carries its topic where a number has its target; it has no target.
		m.TopicARN, m.TargetARN = n.Number.TargetARN, ""
	}
	return m
}

// episode fills the FAILED episode's fields.
func (m *MachineMessage) episode(n status.Notification) {
	m.FailedSince = rfc3339(n.FailedSince)
	m.RetryDeadline = rfc3339(n.RetryDeadline)
	m.DeadlineBasis = string(n.Basis)
	m.Failure = string(n.Failure)
	m.Retries = max(n.Retries, 0)
	m.Operation = machineOperation(n.Operation)
	if n.Basis == status.BasisTransition && !n.FailedAfter.IsZero() {
		m.FailedAfter = rfc3339(n.FailedAfter)
	}
	if !n.LatestRelease.IsZero() {
		m.LatestRelease = rfc3339(n.LatestRelease)
	}
	if !n.PreviousDeadline.IsZero() {
		m.PreviousDeadline = rfc3339(n.PreviousDeadline)
	}
	if n.Event == status.EventDeadline {
		m.Reason = string(n.Reason)
	}
	if n.Event == status.EventReminder && n.Reminder > 0 {
		m.ReminderOffset = status.FormatOffset(n.Reminder)
	}
	if n.Event == status.EventExpired && n.Status == status.NotFound {
		if !n.LastFailedAt.IsZero() {
			m.LastFailedAt = rfc3339(n.LastFailedAt)
		}
		m.Release = machineOperation(n.Release)
	}
}

// Machine is n as machine JSON (see MachineMessage), compact, one line.
func Machine(n status.Notification) ([]byte, error) {
	if n.Event == status.EventBudget {
		return budgetMachine(n)
	}
	b, err := marshal(newMachineMessage(n))
	if err != nil {
		return nil, fmt.Errorf("render machine JSON for %s %s: %w", n.Event, n.Number.ID, err)
	}
	return b, nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
