// Package status is phonewatch's domain: what Amazon Connect says about a phone number, how that
// is validated, and the pure decision of which notifications a check produces. It imports nothing
// of AWS, so every rule here is testable without a network. Decide's deadline is never later
// than any lower bound the facts give (the latest not-FAILED check, the failing CloudTrail
// operation, the chain a failed retry belongs to); stale checks change nothing; a gone number
// needs a second 404 or a release; every notification carries a stable ID, the same each time
// it is sent again after an attempt SNS did not confirm, so that consumers can drop a copy.
package status

import (
	"errors"
	"time"

	"github.com/phonewatch/phonewatch/internal/budget"
)

// Status is the claim status of a phone number as Connect reports it, plus NotFound for a number
// that Connect no longer knows (ResourceNotFoundException): presumably released.
type Status string

// The statuses Connect returns, and the one phonewatch adds for a vanished number.
const (
	Claimed    Status = "CLAIMED"
	InProgress Status = "IN_PROGRESS"
	Failed     Status = "FAILED"
	NotFound   Status = "NOT_FOUND"
)

// Event names a notification. The values are the public contract (message attribute `event`).
type Event string

// The notifications of DESIGN.md.
const (
	EventFailed    Event = "FAILED"
	EventReminder  Event = "REMINDER"
	EventExpired   Event = "EXPIRED"
	EventRecovered Event = "RECOVERED"
	EventStuck     Event = "STUCK"
	// EventDeadline: the deadline of an announced, open episode moved earlier than the one last
	// announced (a late CloudTrail event, a shorter RETRY_WINDOW).
	EventDeadline Event = "DEADLINE"
	// EventTest is `phonewatch test`'s notification: it proves the delivery path, nothing more.
	EventTest Event = "TEST"
	// EventBudget is account-level: the claim/release budget reached a threshold (Budget).
	EventBudget Event = "BUDGET"
)

// Basis says how a retry deadline was bounded, since Connect reports no failure time.
type Basis string

const (
	// BasisTransition: seen not-FAILED at an earlier check, so the failure happened after that
	// check and the deadline (that check + window) is never later than the real one.
	BasisTransition Basis = "transition"
	// BasisFirstObservation: FAILED at first sight; the deadline (now + window) is an upper bound.
	BasisFirstObservation Basis = "first-observation"
	// BasisOperation: CloudTrail shows the Claim/Update call that failed, later than any
	// not-FAILED check; the deadline (its time + window) is never later than the real one.
	BasisOperation Basis = "operation"
)

// Number is what identifies a phone number and where it belongs: the descriptive part of
// Connect's ClaimedPhoneNumberSummary, kept in state so that a notification about a vanished
// number can still name it.
type Number struct {
	ID          string `json:"phoneNumberId" dynamodbav:"phoneNumberId"`
	ARN         string `json:"phoneNumberArn,omitempty" dynamodbav:"phoneNumberArn,omitempty"`
	E164        string `json:"phoneNumber,omitempty" dynamodbav:"phoneNumber,omitempty"`
	CountryCode string `json:"countryCode,omitempty" dynamodbav:"countryCode,omitempty"`
	Type        string `json:"numberType,omitempty" dynamodbav:"numberType,omitempty"`
	Description string `json:"description,omitempty" dynamodbav:"description,omitempty"`
	TargetARN   string `json:"targetArn,omitempty" dynamodbav:"targetArn,omitempty"`
	InstanceID  string `json:"instanceId,omitempty" dynamodbav:"instanceId,omitempty"`
}

// Observation is one validated check of one number at one time.
type Observation struct {
	Number
	Status  Status
	Message string // Connect's PhoneNumberStatus.Message, word for word (may be empty)
	At      time.Time

	// Operation is the latest ClaimPhoneNumber/UpdatePhoneNumber call known for the number at
	// At (from CloudTrail; the record's own when nothing newer was read), nil when none is.
	Operation *Operation
	// Release is a ReleasePhoneNumber call known for the number, nil when none is.
	Release *Operation
	// Listed: the number was in this run's ListPhoneNumbersV2 answer, so Connect has it,
	// whatever a describe of it answered: a ResourceNotFound beside it is transient.
	Listed bool
}

// Gone is the observation of a number that Connect answered ResourceNotFound for.
func Gone(n Number, at time.Time) Observation {
	return Observation{Number: n, Status: NotFound, At: at}
}

// Notification is one message to send: everything rendering needs, decided by Decide.
type Notification struct {
	Event         Event
	Number        Number
	Status        Status // the status seen at ObservedAt (NOT_FOUND for a vanished number)
	StatusMessage string
	ObservedAt    time.Time

	// FAILED episode facts: set for FAILED, REMINDER, EXPIRED and RECOVERED.
	FailedSince   time.Time
	RetryDeadline time.Time
	Basis         Basis
	// FailedAfter is the last check that saw the number not FAILED (basis transition only).
	FailedAfter time.Time
	// Reminder is the REMINDERS offset this reminder stands for (REMINDER only).
	Reminder time.Duration

	// InProgressSince is set for STUCK.
	InProgressSince time.Time

	// ID is the notificationId: the same for every attempt to send this one notification (a
	// repeat), different for any other, so that consumers can drop a repeat. Set by Decide.
	ID string
	// Failure says whether a claim or an update failed, as far as known (FAILED episode events).
	Failure Failure
	// Operation is the call that failed (basis operation), nil when unknown.
	Operation *Operation
	// LatestRelease is the latest the number can be released: first FAILED sight + window. Set
	// when the deadline is a lower bound (bases transition and operation).
	LatestRelease time.Time
	// LastFailedAt is the latest check that saw the number FAILED (EXPIRED of a gone number).
	LastFailedAt time.Time
	// Release is the ReleasePhoneNumber call behind an EXPIRED for a gone number, when known.
	Release *Operation
	// Retries counts the retries in this chain of failures that failed too (0: the first).
	Retries int
	// PreviousDeadline is the chain's deadline before an operation proved a new claim or
	// update and restarted it (zero otherwise): a new FAILED states both. On DEADLINE it is
	// the deadline last announced, which RetryDeadline replaces.
	PreviousDeadline time.Time
	// Reason says why the deadline moved earlier (DEADLINE only).
	Reason DeadlineReason

	// Budget is the account's claim/release budget (BUDGET only, which has no Number).
	Budget *budget.Notice
}

// DeadlineReason says why an open episode's deadline moved earlier than the one announced.
type DeadlineReason string

// The reasons a deadline moves earlier. The values are the public contract (machine JSON
// `reason` of DEADLINE).
const (
	// ReasonOperation: CloudTrail delivered, late, the Claim/Update call that failed; its time is
	// a lower bound of the failure earlier than the one the deadline had.
	ReasonOperation DeadlineReason = "operation"
	// ReasonRetryWindow: RETRY_WINDOW is shorter than when the deadline was announced.
	ReasonRetryWindow DeadlineReason = "retry-window"
)

// TimeLeft is the time from the observation to the retry deadline (negative once past).
func (n Notification) TimeLeft() time.Duration { return n.RetryDeadline.Sub(n.ObservedAt) }

// ErrNotFound is what a source returns (wrapped) when Connect answers ResourceNotFoundException:
// the number is gone, which Decide turns into EXPIRED if it was FAILED.
var ErrNotFound = errors.New("phone number not found")

// ErrUnconfirmed is what a publisher returns (wrapped) for a notification the topic may or may
// not have accepted (no answer: a timeout, a connection reset after sending, a 5xx that is not
// SNS's own error answer): it may have been delivered. It is not marked sent: the next run
// sends it again with the same notificationId.
var ErrUnconfirmed = errors.New("publish unconfirmed: the topic may have accepted it")
