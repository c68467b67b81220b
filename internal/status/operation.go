package status

import "time"

// The Connect phone-number operations that CloudTrail records and phonewatch reads.
const (
	OpClaim   = "ClaimPhoneNumber"
	OpUpdate  = "UpdatePhoneNumber"
	OpRelease = "ReleasePhoneNumber"
)

// Operation is one Connect phone-number call that CloudTrail's event history recorded and
// Connect did not refuse (no errorCode). Its time is a lower bound of any failure it caused:
// the failure came after the call.
type Operation struct {
	// Name is OpClaim, OpUpdate or OpRelease.
	Name string `json:"name" dynamodbav:"name"`
	// At is the call's eventTime.
	At time.Time `json:"at" dynamodbav:"at"`
	// By is the caller's ARN (userIdentity.arn), empty when CloudTrail has none.
	By string `json:"by,omitempty" dynamodbav:"by,omitempty"`
	// TargetARN is the instance or traffic distribution group the call claimed or moved the
	// number to (empty for a release).
	TargetARN string `json:"targetArn,omitempty" dynamodbav:"targetArn,omitempty"`
	// EventID is CloudTrail's EventId: the identity of the call, for de-duplication.
	EventID string `json:"eventId" dynamodbav:"eventId"`

	// The number the call was about, as far as the event names it: a claim's request has only
	// the E.164 number (its response the ID and ARN); an update or release names the ID. These
	// are for matching an event to a number and are not kept in a record.
	PhoneNumberID  string `json:"-" dynamodbav:"-"`
	PhoneNumberARN string `json:"-" dynamodbav:"-"`
	E164           string `json:"-" dynamodbav:"-"`
}

// Newer reports whether o is a later call than p (nil p: any o is). Calls at the same instant
// are ordered by event ID, so that every run picks the same one.
func (o *Operation) Newer(p *Operation) bool {
	switch {
	case o == nil:
		return false
	case p == nil:
		return true
	case !o.At.Equal(p.At):
		return o.At.After(p.At)
	default:
		return o.EventID > p.EventID
	}
}

// Failure says which kind of operation a FAILED episode is the failure of, as far as known.
type Failure string

// The kinds of failure. FailureUnknown: a claim or an update, not proven which (see
// Record.kind). FailureClaim is never decided now (nothing proves that a claim is what failed
// while admin-website changes leave no trace) but is rendered for records that carry it.
const (
	FailureClaim   Failure = "claim"
	FailureUpdate  Failure = "update"
	FailureUnknown Failure = "claim-or-update"
)

// clone returns a copy of o (nil for nil), so that records never share an operation.
func (o *Operation) clone() *Operation {
	if o == nil {
		return nil
	}
	c := *o
	return &c
}

// changes reports whether o is a Claim/Update: a call that can make a number FAILED.
func (o *Operation) changes() bool {
	return o != nil && (o.Name == OpClaim || o.Name == OpUpdate)
}
