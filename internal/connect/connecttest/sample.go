package connecttest

import (
	"strings"

	"github.com/phonewatch/phonewatch/internal/status"
)

// DefaultInstanceARN is the instance NewSummary claims a number to when given no target.
const DefaultInstanceARN = "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-4333-8444-555555555555"

// NewSummary returns a well-formed summary, as Connect would describe it, of a US toll-free
// number with the given ID, E.164 number and status, claimed to targetARN (an instance or
// traffic distribution group ARN; "" for DefaultInstanceARN). Its PhoneNumberArn is in the
// target's partition, Region and account, and its InstanceId is the target's when the target
// is an instance. message "" leaves PhoneNumberStatus.Message out. Change any field of the
// result before Put to make a different number.
func NewSummary(id, e164, targetARN, st, message string) status.Summary {
	if targetARN == "" {
		targetARN = DefaultInstanceARN
	}
	prefix := "arn:aws:connect:us-east-1:123456789012:" // partition, service, Region, account
	var instanceID *string
	if parts := strings.SplitN(targetARN, ":", 6); len(parts) == 6 && parts[0] == "arn" {
		prefix = strings.Join(parts[:5], ":") + ":"
		if inst, ok := strings.CutPrefix(parts[5], "instance/"); ok {
			instanceID = &inst
		}
	}
	s := status.Summary{
		PhoneNumberID:          &id,
		PhoneNumberArn:         ptr(prefix + "phone-number/" + id),
		PhoneNumber:            &e164,
		PhoneNumberCountryCode: ptr("US"),
		PhoneNumberType:        ptr("TOLL_FREE"),
		TargetArn:              &targetARN,
		InstanceID:             instanceID,
		PhoneNumberStatus:      &status.PhoneNumberStatus{Status: &st},
	}
	if message != "" {
		s.PhoneNumberStatus.Message = &message
	}
	return s
}

func ptr(s string) *string { return &s }
