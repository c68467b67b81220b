package trigger

import (
	"strings"
	"testing"
)

func TestValidPhoneNumberRef(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // "" when valid
	}{
		{in: id1},
		{in: numberARN},
		{in: "arn:aws-us-gov:connect:us-gov-west-1:123456789012:phone-number/" + id2},
		{in: "arn:aws:connect:ap-southeast-2:000000000000:phone-number/" + id1},
		{in: "", wantErr: `invalid phone number "": empty; want a phone number ID (lowercase UUID) or arn:<partition>:connect:<region>:<account>:phone-number/<UUID>`},
		{in: "+18005550100", wantErr: `"+18005550100": a phone number itself, not its Connect ID`},
		{in: strings.ToUpper(id1), wantErr: `: Connect IDs are lowercase`},
		{in: "7c1e5a0b3f644d2a9e871b0c6d4f2a95", wantErr: `: neither a UUID nor an ARN`},
		{in: id1 + "\n", wantErr: `invalid phone number "` + id1 + `\n": neither a UUID nor an ARN`},
		{in: " " + id1, wantErr: `: neither a UUID nor an ARN`},
		{in: "arn:aws:connect", wantErr: `: too few :-separated parts`},
		{in: "arn:aws-cn-:connect:us-east-1:123456789012:phone-number/" + id1, wantErr: `: partition is not aws or aws-*`},
		{in: "arn:gcp:connect:us-east-1:123456789012:phone-number/" + id1, wantErr: `: partition is not aws or aws-*`},
		{in: "arn:aws:sms-voice:us-east-1:123456789012:phone-number/" + id1, wantErr: `: service is not connect`},
		{in: "arn:aws:connect:US-EAST-1:123456789012:phone-number/" + id1, wantErr: `: Region is not like us-east-1`},
		{in: "arn:aws:connect::123456789012:phone-number/" + id1, wantErr: `: Region is not like us-east-1`},
		{in: "arn:aws:connect:us-east-1:1234567890:phone-number/" + id1, wantErr: `: account is not 12 digits`},
		{in: "arn:aws:connect:us-east-1:123456789012:phone-number/" + strings.ToUpper(id1), wantErr: `: resource ID is not a lowercase UUID`},
		{in: "arn:aws:connect:us-east-1:123456789012:phone-number/" + id1 + "/x", wantErr: `: resource ID is not a lowercase UUID`},
		{in: "arn:aws:connect:us-east-1:123456789012:phone-number", wantErr: `: resource ID is not a lowercase UUID`},
		{in: "arn:aws:connect:us-east-1:123456789012:instance/" + id2 + "/phone-number/" + id1, wantErr: `: legacy ARN with instance/ in the path`},
		{in: instARN, wantErr: `: wrong resource type; want a phone number ID`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			checkValidator(t, ValidPhoneNumberRef(tt.in), tt.wantErr)
		})
	}
}

func TestValidTargetARN(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // "" when valid
	}{
		{in: instARN},
		{in: tdgARN},
		{in: "arn:aws-us-gov:connect:us-gov-west-1:123456789012:instance/" + id1},
		{in: "", wantErr: `invalid target ARN "": empty; want arn:<partition>:connect:<region>:<account>:instance/<UUID> or …:traffic-distribution-group/<UUID>`},
		{in: id1, wantErr: `invalid target ARN "` + id1 + `": an ID, not an ARN`},
		{in: "my-instance", wantErr: `invalid target ARN "my-instance": not an ARN`},
		{in: numberARN, wantErr: `: wrong resource type; want arn:`},
		{in: "arn:aws:connect:us-east-1:123456789012:instance/" + id1 + "/queue/" + id2, wantErr: `: resource ID is not a lowercase UUID`},
		{in: "arn:aws:connect:us-east-1:123456789012:traffic-distribution-group/tdg-1", wantErr: `: resource ID is not a lowercase UUID`},
		{in: "arn:aws:connect:us-east-1:1:traffic-distribution-group/" + id1, wantErr: `: account is not 12 digits`},
		{in: "arn:aws:connect:us-east-1:123456789012:instance/*", wantErr: `: resource ID is not a lowercase UUID`},
		{in: "arn:aws:events:us-east-1:123456789012:rule/ExampleRule", wantErr: `: service is not connect`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			checkValidator(t, ValidTargetARN(tt.in), tt.wantErr)
		})
	}
}

// TestValidatorErrorsAreShort: every reason either validator gives, with a value of any length
// (around the quoting limit, where a value is shown whole, and far beyond) or content, fits on
// one line of a log, inside Parse's error limit with its longest list prefix.
func TestValidatorErrorsAreShort(t *testing.T) {
	var inputs []string
	for _, reason := range []string{
		"", // neither a UUID nor an ARN
		"+",
		"arn:",
		"arn:bad:::::",
		"arn:aws:x:us-east-1:123456789012:",
		"arn:aws:connect:bad:123456789012:",
		"arn:aws:connect:us-east-1:1:",
		"arn:aws:connect:us-east-1:123456789012:",
		"arn:aws:connect:us-east-1:123456789012:phone-number/",
		"arn:aws:connect:us-east-1:123456789012:traffic-distribution-group/",
		"arn:aws:connect:us-east-1:123456789012:instance/x/phone-number/",
	} {
		for n := 90; n <= 110; n++ {
			inputs = append(inputs, reason+strings.Repeat("0", n-len(reason)))
		}
		inputs = append(inputs, reason+strings.Repeat("0", 1000), reason+strings.Repeat("\n", 1000))
	}
	inputs = append(inputs, strings.Repeat("\x00", 1000), strings.Repeat("\U000e0001", 1000))
	for _, in := range inputs {
		for _, err := range []error{ValidPhoneNumberRef(in), ValidTargetARN(in)} {
			if err == nil {
				t.Fatalf("accepted %.20q…", in)
			}
			msg := "phoneNumberIds[999]: " + err.Error() // the longest prefix Parse adds
			if strings.ContainsAny(msg, "\r\n") || len(msg) > maxErrorBytes {
				t.Fatalf("message of %d bytes, or not one line: %q", len(msg), msg)
			}
		}
	}
}

func checkValidator(t *testing.T, err error, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Fatalf("error = %v; want valid", err)
	case wantErr != "" && err == nil:
		t.Fatalf("valid; want an error containing %q", wantErr)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Fatalf("error = %q; want it to contain %q", err, wantErr)
	}
}
