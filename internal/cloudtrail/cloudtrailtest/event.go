package cloudtrailtest

import (
	"encoding/json"
	"strings"
	"time"
)

// Account and Region of the records the helpers build.
const (
	Account = "123456789012"
	Region  = "us-east-1"
)

// Event is one call as CloudTrail's event history holds it. Add builds its CloudTrailEvent
// record from the fields, unless Record is set.
type Event struct {
	// ID is the EventId (and the record's eventID); Add numbers an empty one.
	ID string
	// Name is the eventName, e.g. ClaimPhoneNumber or DescribePhoneNumber.
	Name string
	// Source is the eventSource; empty is connect.amazonaws.com.
	Source string
	// Time is the eventTime; CloudTrail keeps whole seconds.
	Time time.Time
	// By is the caller's ARN (userIdentity.arn); the entry's Username is its last part.
	By string
	// Request and Response are requestParameters and responseElements (nil: null).
	Request, Response map[string]any
	// ErrorCode and ErrorMessage mark a call Connect refused.
	ErrorCode, ErrorMessage string
	// ReadOnly marks a call that changes nothing (Describe, List).
	ReadOnly bool
	// Record, when set, is served verbatim as the CloudTrailEvent string, whatever the
	// other fields say (for records with other key casings, or broken ones).
	Record string
}

// Claim is a ClaimPhoneNumber of e164 to target by caller, answered with the number's ID
// and ARN (id "" leaves the response out).
func Claim(e164, target, id, by string, at time.Time) Event {
	ev := Event{
		Name: "ClaimPhoneNumber", Time: at, By: by,
		Request: map[string]any{"phoneNumber": e164, "targetArn": target, "clientToken": "ct-" + e164},
	}
	if id != "" {
		ev.Response = map[string]any{"phoneNumberId": id, "phoneNumberArn": ARN(id)}
	}
	return ev
}

// Update is an UpdatePhoneNumber of idOrARN (as the caller named it) to target by caller.
func Update(idOrARN, target, by string, at time.Time) Event {
	return Event{
		Name: "UpdatePhoneNumber", Time: at, By: by,
		Request: map[string]any{"phoneNumberId": idOrARN, "targetArn": target},
		Response: map[string]any{
			"phoneNumberId": lastPart(idOrARN), "phoneNumberArn": ARN(lastPart(idOrARN)),
		},
	}
}

// Release is a ReleasePhoneNumber of idOrARN by caller.
func Release(idOrARN, by string, at time.Time) Event {
	return Event{
		Name: "ReleasePhoneNumber", Time: at, By: by,
		Request: map[string]any{"phoneNumberId": idOrARN},
	}
}

// Refused returns e as a call Connect refused with errorCode.
func (e Event) Refused(errorCode, message string) Event {
	e.ErrorCode, e.ErrorMessage, e.Response = errorCode, message, nil
	return e
}

// ARN is the phone number ARN of id in Account and Region.
func ARN(id string) string {
	return "arn:aws:connect:" + Region + ":" + Account + ":phone-number/" + id
}

// CloudTrailEvent is the record CloudTrail would keep for e, as a JSON string: the fields of
// a management event of an assumed role calling from the CLI.
func (e Event) CloudTrailEvent() string {
	if e.Record != "" {
		return e.Record
	}
	rec := map[string]any{
		"eventVersion": "1.09",
		"userIdentity": map[string]any{
			"type":        "AssumedRole",
			"principalId": "AROAEXAMPLEROLEID:" + lastPart(e.By),
			"arn":         e.By,
			"accountId":   Account,
			"accessKeyId": "ASIAEXAMPLEKEYID",
		},
		"eventTime":          e.Time.UTC().Format(time.RFC3339),
		"eventSource":        e.source(),
		"eventName":          e.Name,
		"awsRegion":          Region,
		"sourceIPAddress":    "198.51.100.23",
		"userAgent":          "aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/linux md/arch#x86_64",
		"requestParameters":  e.Request,
		"responseElements":   e.Response,
		"requestID":          "req-" + e.ID,
		"eventID":            e.ID,
		"readOnly":           e.ReadOnly,
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": Account,
		"eventCategory":      "Management",
	}
	if e.ErrorCode != "" {
		rec["errorCode"], rec["errorMessage"] = e.ErrorCode, e.ErrorMessage
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic("cloudtrailtest: " + err.Error()) // only maps of strings, bools and maps
	}
	return string(b)
}

func (e Event) source() string {
	if e.Source == "" {
		return "connect.amazonaws.com"
	}
	return e.Source
}

// lastPart is what follows an ARN's last "/" (a role session name, a phone number ID).
func lastPart(s string) string {
	return s[strings.LastIndex(s, "/")+1:]
}
