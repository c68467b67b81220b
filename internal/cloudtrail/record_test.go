package cloudtrail

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/phonewatch/phonewatch/internal/status"
)

// FuzzParseRecord: any record either fails, is left out, or is an operation with a name, an
// event ID, a time and a number to match.
func FuzzParseRecord(f *testing.F) {
	f.Add("ClaimPhoneNumber", `{"eventName":"ClaimPhoneNumber","eventTime":"2026-11-26T05:12:07Z","eventID":"e1",`+
		`"userIdentity":{"arn":"arn:aws:sts::1:assumed-role/r/a"},"requestParameters":{"phoneNumber":"+18005550100","targetArn":"t"},`+
		`"responseElements":{"phoneNumberId":"n1","phoneNumberArn":"arn:aws:connect:us-east-1:1:phone-number/n1"}}`)
	f.Add("UpdatePhoneNumber", `{"EVENTNAME":"UpdatePhoneNumber","RequestParameters":{"PhoneNumberId":"arn:aws:connect:us-east-1:1:phone-number/a/b"}}`)
	f.Add("ReleasePhoneNumber", `{"eventName":"ReleasePhoneNumber","errorCode":"AccessDeniedException"}`)
	f.Add("ReleasePhoneNumber", `{"eventTime":"not a time","requestParameters":{"phoneNumberId":"n"}}`)
	f.Add("", `[]`)
	f.Add("UpdatePhoneNumber", `{"eventName":"UpdatePhoneNumber","eventname":"x","requestParameters":null}`)
	fallback := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name, record string) {
		op, what, err := parseRecord(entry{EventID: "fallback", EventName: name, EventTime: fallback, CloudTrailEvent: record})
		if err != nil || what != kept {
			return
		}
		switch {
		case op.Name != status.OpClaim && op.Name != status.OpUpdate && op.Name != status.OpRelease:
			t.Errorf("kept a %q", op.Name)
		case op.EventID == "" || op.At.IsZero() || op.At.Location() != time.UTC:
			t.Errorf("kept %+v without an event ID or a UTC time", op)
		case op.PhoneNumberID == "" && op.PhoneNumberARN == "" && op.E164 == "":
			t.Errorf("kept %+v naming no number", op)
		case op.PhoneNumberARN != "" && op.PhoneNumberID != "" && !strings.HasSuffix(op.PhoneNumberARN, "/"+op.PhoneNumberID) &&
			idOf(op.PhoneNumberARN) != "":
			t.Errorf("ID %q is not the one ARN %q ends in", op.PhoneNumberID, op.PhoneNumberARN)
		}
	})
}

func TestIDOf(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:connect:us-east-1:123456789012:phone-number/7c1e5a0b": "7c1e5a0b",
		"arn:aws:connect:us-east-1:123456789012:phone-number/":         "",
		"arn:aws:connect:us-east-1:123456789012:instance/a/queue/b":    "",
		"arn:aws:connect:us-east-1:123456789012:phone-number/a/b":      "",
	} {
		if got := idOf(arn); got != want {
			t.Errorf("idOf(%q) = %q, want %q", arn, got, want)
		}
	}
}

// A 32 KB caller ARN (issue 17, 7) is cut where it enters, so that no state record keeps it.
func TestParseRecordCapsValues(t *testing.T) {
	huge := "arn:aws:sts::123456789012:assumed-role/" + strings.Repeat("é", 16*1024) + "/bob"
	rec := `{"eventName":"UpdatePhoneNumber","eventTime":"2026-11-26T05:12:07Z","eventID":"e1",` +
		`"userIdentity":{"arn":"` + huge + `"},"requestParameters":{"phoneNumberId":"n1","targetArn":"` + huge + `"}}`
	op, what, err := parseRecord(entry{CloudTrailEvent: rec})
	if err != nil || what != kept {
		t.Fatalf("parse: %v %v", what, err)
	}
	for _, v := range []string{op.By, op.TargetARN} {
		if len(v) > maxValue || !strings.HasPrefix(huge, v) || !utf8.ValidString(v) {
			t.Errorf("kept %d bytes (valid UTF-8 %v), want at most %d of the value's start", len(v), utf8.ValidString(v), maxValue)
		}
	}
}
