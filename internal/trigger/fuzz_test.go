package trigger

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse holds Parse to its contract on any input: it never panics; what it accepts is JSON
// (or nothing) and obeys every rule of a request, and reads back the same when re-encoded; what
// it rejects gets one short line. The seed corpus (testdata/fuzz/FuzzParse) holds the events/
// fixtures and the edge cases of TestParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, err := Parse(payload)
		if err != nil {
			checkErrorShape(t, err)
			return
		}
		if len(bytes.Trim(payload, jsonSpace)) > 0 && !json.Valid(payload) {
			t.Fatalf("accepted invalid JSON %q as %+v", payload, got)
		}
		if got.Scheduled {
			if got.PhoneNumberIDs != nil || got.TargetARNs != nil {
				t.Fatalf("scheduled request with entries: %+v", got)
			}
			return
		}
		if len(got.PhoneNumberIDs)+len(got.TargetARNs) == 0 {
			t.Fatalf("check request without entries from %q", payload)
		}
		checkList(t, got.PhoneNumberIDs, ValidPhoneNumberRef)
		checkList(t, got.TargetARNs, ValidTargetARN)

		again, err := json.Marshal(struct {
			IDs     []string `json:"phoneNumberIds,omitempty"`
			Targets []string `json:"targetArns,omitempty"`
		}{got.PhoneNumberIDs, got.TargetARNs})
		if err != nil {
			t.Fatal(err)
		}
		if back, err := Parse(again); err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("re-encoded request %s parses to %+v, %v; want %+v", again, back, err, got)
		}
	})
}

// checkList asserts the rules every accepted list obeys: at most MaxIDs entries, each valid and
// non-empty, none twice.
func checkList(t *testing.T, list []string, valid func(string) error) {
	t.Helper()
	if len(list) > MaxIDs {
		t.Fatalf("accepted %d entries, more than %d", len(list), MaxIDs)
	}
	seen := map[string]bool{}
	for _, s := range list {
		if err := valid(s); err != nil || strings.TrimSpace(s) == "" {
			t.Fatalf("accepted entry %q: %v", s, err)
		}
		if seen[s] {
			t.Fatalf("accepted %q twice", s)
		}
		seen[s] = true
	}
}
