package status

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func ptr(s string) *string { return &s }

// validSummary is a complete, valid ClaimedPhoneNumberSummary; each test case changes one thing.
func validSummary() *Summary {
	return &Summary{
		PhoneNumberID:          ptr(testNumber.ID),
		PhoneNumberArn:         ptr(testNumber.ARN),
		PhoneNumber:            ptr(testNumber.E164),
		PhoneNumberCountryCode: ptr(testNumber.CountryCode),
		PhoneNumberType:        ptr(testNumber.Type),
		PhoneNumberDescription: ptr("support line"),
		TargetArn:              ptr(testNumber.TargetARN),
		InstanceID:             ptr(testNumber.InstanceID),
		PhoneNumberStatus:      &PhoneNumberStatus{Status: ptr("FAILED"), Message: ptr("The phone number could not be claimed.")},
	}
}

func TestValidateAccepts(t *testing.T) {
	euro255 := strings.Repeat("€", 255)           // 3 bytes a character: 765 bytes
	emoji255 := strings.Repeat("\U0001F4DE", 255) // 4 bytes a character
	testCases := []struct {
		name        string
		change      func(*Summary)
		wantStatus  Status
		wantMessage string
	}{
		{"FAILED with a message", func(*Summary) {}, Failed, "The phone number could not be claimed."},
		{"CLAIMED without a message field", func(s *Summary) {
			s.PhoneNumberStatus = &PhoneNumberStatus{Status: ptr("CLAIMED")}
		}, Claimed, ""},
		{"IN_PROGRESS with an empty message", func(s *Summary) {
			s.PhoneNumberStatus = &PhoneNumberStatus{Status: ptr("IN_PROGRESS"), Message: ptr("")}
		}, InProgress, ""},
		{"message of 255 three-byte characters", func(s *Summary) { s.PhoneNumberStatus.Message = ptr(euro255) }, Failed, euro255},
		{"message of 255 four-byte characters", func(s *Summary) { s.PhoneNumberStatus.Message = ptr(emoji255) }, Failed, emoji255},
		{"message of 255 ASCII characters", func(s *Summary) {
			s.PhoneNumberStatus.Message = ptr(strings.Repeat("x", 255))
		}, Failed, strings.Repeat("x", 255)},
		{"message with line breaks and quotes, kept word for word", func(s *Summary) {
			s.PhoneNumberStatus.Message = ptr("line 1\nline \"2\"\r\n\ttab")
		}, Failed, "line 1\nline \"2\"\r\n\ttab"},
		{"shortest E.164 number (2 digits)", func(s *Summary) { s.PhoneNumber = ptr("+12") }, Failed, "The phone number could not be claimed."},
		{"longest E.164 number (15 digits)", func(s *Summary) { s.PhoneNumber = ptr("+123456789012345") }, Failed, "The phone number could not be claimed."},
		{"only ID, number and status (optional fields missing)", func(s *Summary) {
			*s = Summary{PhoneNumberID: s.PhoneNumberID, PhoneNumber: s.PhoneNumber, PhoneNumberStatus: s.PhoneNumberStatus}
		}, Failed, "The phone number could not be claimed."},
	}
	at := time.Date(2026, 11, 26, 6, 40, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			s := validSummary()
			tc.change(s)
			obs, err := Validate(s, at)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if obs.Status != tc.wantStatus || obs.Message != tc.wantMessage {
				t.Errorf("got status %q message %q, want %q %q", obs.Status, obs.Message, tc.wantStatus, tc.wantMessage)
			}
			if obs.ID != *s.PhoneNumberID || obs.E164 != *s.PhoneNumber {
				t.Errorf("got ID %q number %q, want %q %q", obs.ID, obs.E164, *s.PhoneNumberID, *s.PhoneNumber)
			}
			if !obs.At.Equal(at) || obs.At.Location() != time.UTC {
				t.Errorf("At = %v, want %v in UTC", obs.At, at.UTC())
			}
		})
	}
}

// TestValidateMapsEveryField checks that each field of Connect's summary lands in its place.
func TestValidateMapsEveryField(t *testing.T) {
	obs, err := Validate(validSummary(), t0)
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := testNumber
	want.Description = "support line"
	if obs.Number != want {
		t.Errorf("number:\n got %+v\nwant %+v", obs.Number, want)
	}
}

func TestValidateRejects(t *testing.T) {
	long := strings.Repeat("A", 100)
	testCases := []struct {
		name      string
		change    func(*Summary) *Summary // returns the summary to validate
		wantField string
		wantValue string // exactly, as quoted and shortened
		wantRule  string // a part of the rule
	}{
		{"no summary at all", func(*Summary) *Summary { return nil },
			"ClaimedPhoneNumberSummary", `""`, "missing"},
		{"missing PhoneNumberId", func(s *Summary) *Summary { s.PhoneNumberID = nil; return s },
			"PhoneNumberId", `""`, "missing"},
		{"empty PhoneNumberId", func(s *Summary) *Summary { s.PhoneNumberID = ptr(""); return s },
			"PhoneNumberId", `""`, "missing"},
		{"missing PhoneNumber", func(s *Summary) *Summary { s.PhoneNumber = nil; return s },
			"PhoneNumber", `""`, "E.164"},
		{"PhoneNumber without plus", func(s *Summary) *Summary { s.PhoneNumber = ptr("18005550100"); return s },
			"PhoneNumber", `"18005550100"`, "E.164"},
		{"PhoneNumber with spaces", func(s *Summary) *Summary { s.PhoneNumber = ptr("+1 800 555 0100"); return s },
			"PhoneNumber", `"+1 800 555 0100"`, "E.164"},
		{"PhoneNumber with a leading zero", func(s *Summary) *Summary { s.PhoneNumber = ptr("+0800555010"); return s },
			"PhoneNumber", `"+0800555010"`, "E.164"},
		{"PhoneNumber of 16 digits", func(s *Summary) *Summary { s.PhoneNumber = ptr("+1234567890123456"); return s },
			"PhoneNumber", `"+1234567890123456"`, "E.164"},
		{"PhoneNumber of 1 digit", func(s *Summary) *Summary { s.PhoneNumber = ptr("+1"); return s },
			"PhoneNumber", `"+1"`, "E.164"},
		{"PhoneNumber with a trailing newline", func(s *Summary) *Summary { s.PhoneNumber = ptr("+18005550100\n"); return s },
			"PhoneNumber", `"+18005550100\n"`, "E.164"},
		{"PhoneNumber with Arabic-Indic digits", func(s *Summary) *Summary { s.PhoneNumber = ptr("+١٨٠٠"); return s },
			"PhoneNumber", `"+١٨٠٠"`, "E.164"},
		{"missing PhoneNumberStatus", func(s *Summary) *Summary { s.PhoneNumberStatus = nil; return s },
			"PhoneNumberStatus.Status", `""`, "missing"},
		{"missing Status", func(s *Summary) *Summary { s.PhoneNumberStatus.Status = nil; return s },
			"PhoneNumberStatus.Status", `""`, "missing"},
		{"empty Status", func(s *Summary) *Summary { s.PhoneNumberStatus.Status = ptr(""); return s },
			"PhoneNumberStatus.Status", `""`, "must be CLAIMED, IN_PROGRESS or FAILED"},
		{"unknown Status", func(s *Summary) *Summary { s.PhoneNumberStatus.Status = ptr("RELEASED"); return s },
			"PhoneNumberStatus.Status", `"RELEASED"`, "must be CLAIMED, IN_PROGRESS or FAILED"},
		{"lower-case Status", func(s *Summary) *Summary { s.PhoneNumberStatus.Status = ptr("claimed"); return s },
			"PhoneNumberStatus.Status", `"claimed"`, "must be CLAIMED"},
		{"NOT_FOUND is ours, never Connect's", func(s *Summary) *Summary { s.PhoneNumberStatus.Status = ptr("NOT_FOUND"); return s },
			"PhoneNumberStatus.Status", `"NOT_FOUND"`, "must be CLAIMED"},
		{"Status with a control character, escaped", func(s *Summary) *Summary { s.PhoneNumberStatus.Status = ptr("CLAIMED\r\n\x00"); return s },
			"PhoneNumberStatus.Status", `"CLAIMED\r\n\x00"`, "must be CLAIMED"},
		{"long Status, shortened to 40 characters", func(s *Summary) *Summary { s.PhoneNumberStatus.Status = ptr(long); return s },
			"PhoneNumberStatus.Status", `"` + strings.Repeat("A", 40) + `"…`, "must be CLAIMED"},
		{"message of 256 three-byte characters", func(s *Summary) *Summary {
			s.PhoneNumberStatus.Message = ptr(strings.Repeat("€", 256))
			return s
		}, "PhoneNumberStatus.Message", `"` + strings.Repeat("€", 40) + `"…`, "256 characters, more than 255"},
		{"message of 256 ASCII characters", func(s *Summary) *Summary {
			s.PhoneNumberStatus.Message = ptr(strings.Repeat("m", 256))
			return s
		}, "PhoneNumberStatus.Message", `"` + strings.Repeat("m", 40) + `"…`, "256 characters, more than 255"},
		{"message of invalid UTF-8", func(s *Summary) *Summary { s.PhoneNumberStatus.Message = ptr("bad \xff\xfe"); return s },
			"PhoneNumberStatus.Message", `"bad \xff\xfe"`, "not valid UTF-8"},
		{"description of invalid UTF-8", func(s *Summary) *Summary { s.PhoneNumberDescription = ptr("\xc3("); return s },
			"PhoneNumberDescription", `"\xc3("`, "not valid UTF-8"},
		{"ARN of invalid UTF-8", func(s *Summary) *Summary { s.PhoneNumberArn = ptr("arn:\x80"); return s },
			"PhoneNumberArn", `"arn:\x80"`, "not valid UTF-8"},
		{"ID of invalid UTF-8", func(s *Summary) *Summary { s.PhoneNumberID = ptr("\xed\xa0\x80"); return s },
			"PhoneNumberId", `"\xed\xa0\x80"`, "not valid UTF-8"},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(tc.change(validSummary()), t0)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate error = %v (%T), want a *ValidationError", err, err)
			}
			if ve.Field != tc.wantField || ve.Value != tc.wantValue || !strings.Contains(ve.Rule, tc.wantRule) {
				t.Errorf("got field %q value %s rule %q; want field %q value %s rule containing %q",
					ve.Field, ve.Value, ve.Rule, tc.wantField, tc.wantValue, tc.wantRule)
			}
			msg := err.Error()
			for _, part := range []string{tc.wantField, tc.wantValue, tc.wantRule} {
				if !strings.Contains(msg, part) {
					t.Errorf("Error() %q does not name %q", msg, part)
				}
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("Error() %q is more than one line", msg)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	testCases := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"short", "FAILED", 40, `"FAILED"`},
		{"exactly the limit", "abcde", 5, `"abcde"`},
		{"one over the limit", "abcdef", 5, `"abcde"…`},
		{"characters, not bytes", "ééééé€€", 5, `"ééééé"…`},
		{"multibyte within the limit", "€€€", 3, `"€€€"`},
		{"control characters escaped", "a\nb\rc\x00", 10, `"a\nb\rc\x00"`},
		{"invalid bytes stay visible when cut", "\xff\xfe\xfdabc", 4, `"\xff\xfe\xfda"…`},
		{"invalid byte inside a cut", "ab\xffcd", 3, `"ab\xff"…`},
		{"zero limit", "abc", 0, `""…`},
		{"negative limit is zero", "abc", -1, `""…`},
		{"empty", "", 0, `""`},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Quote(tc.in, tc.limit); got != tc.want {
				t.Errorf("Quote(%q, %d) = %s, want %s", tc.in, tc.limit, got, tc.want)
			}
		})
	}
}

// TestValidateCutsALongDescription (issue 18.4): a description longer than Connect documents
// (100,000 characters) is cut to MaxDescriptionLen with an ellipsis, not rejected: the number
// is still checked and its record stays small. One of exactly the limit is kept whole.
func TestValidateCutsALongDescription(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{strings.Repeat("é", 100000), strings.Repeat("é", MaxDescriptionLen-1) + "…"},
		{strings.Repeat("d", MaxDescriptionLen), strings.Repeat("d", MaxDescriptionLen)},
	} {
		s := validSummary()
		s.PhoneNumberDescription = &tc.in
		o, err := Validate(s, t0)
		if err != nil {
			t.Fatalf("description of %d characters: %v", len([]rune(tc.in)), err)
		}
		if o.Description != tc.want {
			t.Errorf("description of %d characters became %d characters, want %d", len([]rune(tc.in)),
				len([]rune(o.Description)), len([]rune(tc.want)))
		}
	}
}
