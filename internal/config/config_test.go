package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{TopicARN: "arn:aws:sns:us-east-1:111122223333:pw", StateTable: "pw-state"}), true, Checks{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.RetryWindow != 24*time.Hour || c.Policy.StuckAfter != 30*time.Minute || !c.Policy.NotifyRecovery {
		t.Errorf("policy defaults = %+v", c.Policy)
	}
	if !slices.Equal(c.Policy.Reminders, []time.Duration{time.Hour, 6 * time.Hour}) {
		t.Errorf("reminders = %v, want [1h 6h] (nearest first)", c.Policy.Reminders)
	}
	if c.ConnectRPS != 2 || c.ConnectBurst != 5 || len(c.TargetARNs) != 0 || len(c.PhoneNumberIDs) != 0 || c.PhoneNumberQuota != 0 {
		t.Errorf("defaults = %+v", c)
	}
}

func TestValues(t *testing.T) {
	c, err := Load(env(map[string]string{
		TopicARN: "arn:aws:sns:us-east-1:111122223333:pw", StateTable: "t",
		TargetARNs: " a , b,,a ", PhoneNumberIDs: "x", RetryWindow: "40s", Reminders: "10s, 5s",
		StuckAfter: "3s", NotifyRecovery: "false", ConnectRPS: "0.5", ConnectBurst: "1", PhoneNumberQuota: " 99 ",
	}), true, Checks{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.TargetARNs, []string{"a", "b"}) || !slices.Equal(c.PhoneNumberIDs, []string{"x"}) {
		t.Errorf("lists = %q %q", c.TargetARNs, c.PhoneNumberIDs)
	}
	if c.Policy.RetryWindow != 40*time.Second || c.Policy.StuckAfter != 3*time.Second || c.Policy.NotifyRecovery {
		t.Errorf("policy = %+v", c.Policy)
	}
	if !slices.Equal(c.Policy.Reminders, []time.Duration{5 * time.Second, 10 * time.Second}) {
		t.Errorf("reminders = %v", c.Policy.Reminders)
	}
	if c.ConnectRPS != 0.5 || c.ConnectBurst != 1 {
		t.Errorf("rate = %v/%v", c.ConnectRPS, c.ConnectBurst)
	}
	if c.PhoneNumberQuota != 99 {
		t.Errorf("PHONE_NUMBER_QUOTA = %d, want 99", c.PhoneNumberQuota)
	}
	c, err = Load(env(map[string]string{Reminders: "NONE"}), false, Checks{})
	if err != nil || c.Policy.Reminders != nil {
		t.Errorf("REMINDERS=none: %v %v", c.Policy.Reminders, err)
	}
}

func TestInvalidValuesAreNamed(t *testing.T) {
	base := map[string]string{TopicARN: "arn:aws:sns:us-east-1:111122223333:pw", StateTable: "t"}
	tests := []struct {
		name, key, value, want string
	}{
		{"missing topic", TopicARN, "", "TOPIC_ARN"},
		{"topic not an ARN", TopicARN, "my-topic", "TOPIC_ARN=\"my-topic\""},
		{"missing table", StateTable, "", "STATE_TABLE"},
		{"window not a duration", RetryWindow, "1d", "RETRY_WINDOW=\"1d\""},
		{"negative window", RetryWindow, "-1h", "RETRY_WINDOW"},
		{"zero stuck", StuckAfter, "0s", "STUCK_AFTER"},
		{"reminder at window", Reminders, "24h", "below RETRY_WINDOW"},
		{"reminder not duration", Reminders, "6h,soon", "REMINDERS=\"soon\""},
		{"reminder twice", Reminders, "1h,1h", "listed twice"},
		{"recovery word", NotifyRecovery, "yes please", "NOTIFY_RECOVERY"},
		{"rps zero", ConnectRPS, "0", "CONNECT_RPS"},
		{"rps inf", ConnectRPS, "Inf", "CONNECT_RPS"},
		{"burst fraction", ConnectBurst, "2.5", "CONNECT_BURST"},
		{"bad target", TargetARNs, "nope", "TARGET_ARNS: bad nope"},
		{"bad id", PhoneNumberIDs, "nope", "PHONE_NUMBER_IDS: bad nope"},
		{"quota zero", PhoneNumberQuota, "0", "PHONE_NUMBER_QUOTA=\"0\""},
		{"quota fraction", PhoneNumberQuota, "9.5", "PHONE_NUMBER_QUOTA"},
		{"quota huge", PhoneNumberQuota, "99999999999", "PHONE_NUMBER_QUOTA"},
	}
	checks := Checks{
		TargetARN:      func(s string) error { return errors.New("bad " + s) },
		PhoneNumberRef: func(s string) error { return errors.New("bad " + s) },
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			m[tc.key] = tc.value
			_, err := Load(env(m), true, checks)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLocalRunNeedsNoTopicOrTable(t *testing.T) {
	if _, err := Load(env(nil), false, Checks{}); err != nil {
		t.Fatalf("local run with an empty environment: %v", err)
	}
}

func TestAllProblemsReportedTogether(t *testing.T) {
	_, err := Load(env(map[string]string{RetryWindow: "x", ConnectBurst: "0"}), true, Checks{})
	for _, want := range []string{TopicARN, StateTable, RetryWindow, ConnectBurst} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// TestNewVariables: CLOUDTRAIL, SWEEP_EVERY and DISPLAY_TIMEZONE, with DESIGN's defaults, and
// each bad value named.
func TestNewVariables(t *testing.T) {
	base := map[string]string{TopicARN: "arn:aws:sns:us-east-1:111122223333:pw", StateTable: "t"}
	c, err := Load(env(base), true, Checks{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.CloudTrail || c.SweepEvery != time.Hour || c.Location != nil || len(c.Warnings) != 0 {
		t.Errorf("defaults: CloudTrail %v, SweepEvery %s, Location %v, Warnings %v; want true, 1h, none, none",
			c.CloudTrail, c.SweepEvery, c.Location, c.Warnings)
	}
	set := map[string]string{CloudTrail: "false", SweepEvery: "90m", DisplayTimezone: "Europe/Berlin"}
	for k, v := range base {
		set[k] = v
	}
	c, err = Load(env(set), true, Checks{})
	if err != nil {
		t.Fatal(err)
	}
	if c.CloudTrail || c.SweepEvery != 90*time.Minute || c.Location == nil || c.Location.String() != "Europe/Berlin" {
		t.Errorf("set: CloudTrail %v, SweepEvery %s, Location %v", c.CloudTrail, c.SweepEvery, c.Location)
	}
	for name, bad := range map[string]string{CloudTrail: "yes please", SweepEvery: "-1h",
		DisplayTimezone: "Mars/Olympus_Mons"} {
		vars := map[string]string{name: bad}
		for k, v := range base {
			vars[k] = v
		}
		if _, err := Load(env(vars), true, Checks{}); err == nil || !strings.Contains(err.Error(), name+"=") {
			t.Errorf("%s=%q: error %v, want one naming the variable", name, bad, err)
		}
	}
}

// TestRemindersThatCannotApply (issue 9): with a short RETRY_WINDOW, a default reminder that
// cannot apply is dropped with a warning naming both variables; an explicit one is an error
// naming both.
func TestRemindersThatCannotApply(t *testing.T) {
	c, err := Load(env(map[string]string{RetryWindow: "30m"}), false, Checks{})
	if err != nil {
		t.Fatalf("defaults with RETRY_WINDOW=30m: %v, want the default reminders dropped, not an error", err)
	}
	if len(c.Policy.Reminders) != 0 || len(c.Warnings) != 2 {
		t.Fatalf("reminders %v, warnings %q; want none kept and one warning per dropped default", c.Policy.Reminders, c.Warnings)
	}
	for _, w := range c.Warnings {
		if !strings.Contains(w, Reminders) || !strings.Contains(w, RetryWindow+"=30m") {
			t.Errorf("warning %q does not name both REMINDERS and RETRY_WINDOW=30m", w)
		}
	}
	c, err = Load(env(map[string]string{RetryWindow: "3h"}), false, Checks{})
	if err != nil || !slices.Equal(c.Policy.Reminders, []time.Duration{time.Hour}) || len(c.Warnings) != 1 {
		t.Errorf("RETRY_WINDOW=3h: reminders %v, warnings %q, err %v; want [1h] kept and the 6h dropped", c.Policy.Reminders, c.Warnings, err)
	}
	_, err = Load(env(map[string]string{RetryWindow: "30m", Reminders: "1h"}), false, Checks{})
	if err == nil || !strings.Contains(err.Error(), Reminders+"=") || !strings.Contains(err.Error(), RetryWindow) {
		t.Errorf("explicit REMINDERS=1h with RETRY_WINDOW=30m: %v, want an error naming both", err)
	}
}
