package connecttest

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestPutLeavesAbsentFieldsOut checks the wire body itself: Connect omits a field it has no
// value for rather than sending null, and clients must see exactly that.
func TestPutLeavesAbsentFieldsOut(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	srv.Put(NewSummary("a", "+18005550100", "", "CLAIMED", ""))
	srv.mu.Lock()
	body := srv.numbers["a"].body
	srv.mu.Unlock()
	if bytes.Contains(body, []byte("null")) {
		t.Errorf("body has nulls: %s", body)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	sum := doc["ClaimedPhoneNumberSummary"]
	for _, absent := range []string{"PhoneNumberDescription", "SourcePhoneNumberArn", "Tags"} {
		if _, ok := sum[absent]; ok {
			t.Errorf("%s present in %s", absent, body)
		}
	}
	if st, _ := sum["PhoneNumberStatus"].(map[string]any); st["Status"] != "CLAIMED" || st["Message"] != nil {
		t.Errorf("PhoneNumberStatus = %v, want Status only", sum["PhoneNumberStatus"])
	}
}
