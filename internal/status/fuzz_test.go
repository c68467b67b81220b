package status

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxErrorLen bounds ValidationError.Error(): a field name and a rule of a few dozen bytes, and
// a value of at most 40 characters, each escaped to at most 10 bytes (\U0010ffff), plus quotes
// and an ellipsis.
const maxErrorLen = 600

// isE164 is an independent statement of the E.164 rule: a plus, a non-zero ASCII digit, then 1
// to 14 more ASCII digits.
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range []byte(s[1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// FuzzValidate feeds arbitrary bytes, decoded as DescribePhoneNumber's JSON body, to Validate:
// whatever Connect (or a broken proxy) sends must come back as a valid observation or as one
// bounded line of error, never a panic. Seeds are in testdata/fuzz/FuzzValidate.
func FuzzValidate(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var out DescribeOutput
		// A type mismatch still decodes the rest, and Validate must cope with whatever
		// arrived; a syntax error decodes nothing and Validate sees a missing summary.
		_ = json.Unmarshal(data, &out)

		obs, err := Validate(out.ClaimedPhoneNumberSummary, t0)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is a %T, want *ValidationError", err, err)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("Error() is more than one line: %q", msg)
			}
			if len(msg) > maxErrorLen {
				t.Fatalf("Error() is %d bytes, more than %d: %q", len(msg), maxErrorLen, msg)
			}
			if !utf8.ValidString(msg) {
				t.Fatalf("Error() is not valid UTF-8: %q", msg)
			}
			return
		}

		s := out.ClaimedPhoneNumberSummary
		switch obs.Status {
		case Claimed, InProgress, Failed:
		default:
			t.Fatalf("accepted status %q", obs.Status)
		}
		if string(obs.Status) != *s.PhoneNumberStatus.Status {
			t.Fatalf("status %q, Connect said %q", obs.Status, *s.PhoneNumberStatus.Status)
		}
		if !utf8.ValidString(obs.Message) {
			t.Fatalf("accepted a message of invalid UTF-8: %q", obs.Message)
		}
		if n := utf8.RuneCountInString(obs.Message); n > MaxMessageLen {
			t.Fatalf("accepted a message of %d characters", n)
		}
		if m := s.PhoneNumberStatus.Message; m != nil && obs.Message != *m {
			t.Fatalf("message %q, Connect said %q", obs.Message, *m)
		}
		if !isE164(obs.E164) {
			t.Fatalf("accepted phone number %q", obs.E164)
		}
		if obs.ID == "" || obs.ID != *s.PhoneNumberID {
			t.Fatalf("ID %q, Connect said %q", obs.ID, *s.PhoneNumberID)
		}
		if !obs.At.Equal(t0) {
			t.Fatalf("At = %v, want %v", obs.At, t0)
		}
	})
}

// TestFuzzValidateSeeds checks that each seed of the checked-in corpus is what its name says,
// so the fuzzer starts from both sides of every rule: a valid payload, or the field it breaks.
func TestFuzzValidateSeeds(t *testing.T) {
	testCases := []struct {
		seed      string
		wantField string // "" when the payload is valid
	}{
		{"claimed-valid", ""},
		{"failed-valid", ""},
		{"in-progress-valid", ""},
		{"message-255-multibyte", ""},
		{"message-255-escaped", ""},
		{"message-256-multibyte", "PhoneNumberStatus.Message"},
		{"message-256-emoji-pairs", "PhoneNumberStatus.Message"},
		{"message-invalid-utf8", ""},   // encoding/json turns the bad bytes into U+FFFD
		{"message-lone-surrogate", ""}, // likewise
		{"message-control-chars", ""},  // kept word for word; rendering escapes them
		{"status-control-chars", "PhoneNumberStatus.Status"},
		{"status-missing", "PhoneNumberStatus.Status"},
		{"status-unknown", "PhoneNumberStatus.Status"},
		{"status-lowercase", "PhoneNumberStatus.Status"},
		{"status-not-a-string", "PhoneNumberStatus.Status"},
		{"status-null", "PhoneNumberStatus.Status"},
		{"status-long", "PhoneNumberStatus.Status"},
		{"number-not-e164", "PhoneNumber"},
		{"number-16-digits", "PhoneNumber"},
		{"id-empty", "PhoneNumberId"},
		{"summary-missing", "ClaimedPhoneNumberSummary"},
		{"summary-null", "ClaimedPhoneNumberSummary"},
		{"empty-object", "ClaimedPhoneNumberSummary"},
		{"not-json", "ClaimedPhoneNumberSummary"},
		{"truncated", "ClaimedPhoneNumberSummary"},
	}
	for _, tc := range testCases {
		t.Run(tc.seed, func(t *testing.T) {
			data := readSeed(t, filepath.Join("testdata", "fuzz", "FuzzValidate", tc.seed))
			var out DescribeOutput
			_ = json.Unmarshal(data, &out)
			_, err := Validate(out.ClaimedPhoneNumberSummary, t0)
			var ve *ValidationError
			switch {
			case tc.wantField == "" && err != nil:
				t.Errorf("valid seed rejected: %v", err)
			case tc.wantField != "" && !errors.As(err, &ve):
				t.Errorf("got error %v, want one about %s", err, tc.wantField)
			case tc.wantField != "" && ve.Field != tc.wantField:
				t.Errorf("error about %s (%v), want one about %s", ve.Field, err, tc.wantField)
			}
		})
	}
}

// readSeed reads the one []byte value of a "go test fuzz v1" corpus file.
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read seed: %v", err)
	}
	header, value, ok := strings.Cut(strings.TrimSpace(string(raw)), "\n")
	if !ok || header != "go test fuzz v1" || !strings.HasPrefix(value, "[]byte(") || !strings.HasSuffix(value, ")") {
		t.Fatalf("%s is not a go test fuzz v1 file of one []byte", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(value, "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: unquote: %v", path, err)
	}
	return []byte(s)
}
