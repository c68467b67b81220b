package notify

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDeadlineNotification (issue 17, 1): DEADLINE reaches filter policies as event=DEADLINE,
// programs get the new deadline, the previous one and the reason, and people read both
// deadlines with the new one first.
func TestDeadlineNotification(t *testing.T) {
	n := golden("deadline-moved")
	if got := Attributes(n)["event"]; got != "DEADLINE" {
		t.Errorf("attribute event = %q, want DEADLINE", got)
	}
	b, err := Machine(n)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"event": "DEADLINE", "retryDeadline": "2026-11-26T06:10:00Z",
		"previousDeadline": "2026-11-27T05:40:00Z", "reason": "operation", "deadlineBasis": "operation"} {
		if m[k] != want {
			t.Errorf("machine JSON %s = %v, want %s", k, m[k], want)
		}
	}
	text := Text(n)
	first := strings.Index(text, "Retry deadline:    2026-11-26 06:10:00 UTC")
	prev := strings.Index(text, "Previous deadline: 2026-11-27 05:40:00 UTC")
	if first < 0 || prev < 0 || first > prev || !strings.Contains(text, "earlier than phonewatch") {
		t.Errorf("text does not state the new deadline before the previous one:\n%s", text)
	}
	if s := Subject(n); len(s) > MaxSubjectLen || !strings.HasPrefix(s, "[DEADLINE] ") || strings.HasSuffix(s, "...") {
		t.Errorf("subject %q", s)
	}
}
