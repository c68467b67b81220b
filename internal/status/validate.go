package status

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"
)

// DescribeOutput is DescribePhoneNumber's response body, exactly as Connect (and the
// `aws connect describe-phone-number` command) prints it. Fields are pointers so that a missing
// field can be told from an empty one.
type DescribeOutput struct {
	ClaimedPhoneNumberSummary *Summary `json:"ClaimedPhoneNumberSummary"`
}

// Summary is Connect's ClaimedPhoneNumberSummary, unvalidated.
type Summary struct {
	PhoneNumberID          *string            `json:"PhoneNumberId"`
	PhoneNumberArn         *string            `json:"PhoneNumberArn"`
	PhoneNumber            *string            `json:"PhoneNumber"`
	PhoneNumberCountryCode *string            `json:"PhoneNumberCountryCode"`
	PhoneNumberType        *string            `json:"PhoneNumberType"`
	PhoneNumberDescription *string            `json:"PhoneNumberDescription"`
	TargetArn              *string            `json:"TargetArn"`
	InstanceID             *string            `json:"InstanceId"`
	SourcePhoneNumberArn   *string            `json:"SourcePhoneNumberArn"`
	Tags                   map[string]string  `json:"Tags"`
	PhoneNumberStatus      *PhoneNumberStatus `json:"PhoneNumberStatus"`
}

// PhoneNumberStatus is Connect's PhoneNumberStatus, unvalidated.
type PhoneNumberStatus struct {
	Status  *string `json:"Status"`
	Message *string `json:"Message"`
}

// MaxMessageLen is Connect's documented limit for PhoneNumberStatus.Message, in characters.
const MaxMessageLen = 255

// MaxDescriptionLen is Connect's documented limit for PhoneNumberDescription, in characters. A
// longer one is cut (it is free text, not an identity), so that it can bloat neither a record
// nor a message.
const MaxDescriptionLen = 500

// e164 is ITU-T E.164 as Connect writes it: a plus, then up to 15 digits, no leading zero.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// ValidationError says which field of a Connect payload broke which rule.
type ValidationError struct {
	Field string
	Value string // shortened and quoted for logs
	Rule  string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s %s: %s", e.Field, e.Value, e.Rule)
}

func invalid(field, value, rule string) error {
	return &ValidationError{Field: field, Value: Quote(value, 40), Rule: rule}
}

// Quote returns s as a Go-quoted string of at most limit characters (plus an ellipsis when cut),
// so that any input, however long or full of control characters, is safe in one log line. An
// invalid UTF-8 byte counts as one character and stays visible as \xNN, as strconv.Quote
// shows it, rather than turning into U+FFFD.
func Quote(s string, limit int) string {
	limit = max(limit, 0)
	if utf8.RuneCountInString(s) <= limit {
		return strconv.Quote(s)
	}
	cut := 0
	for range limit {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	return strconv.Quote(s[:cut]) + "…"
}

// Validate turns a summary into an observation made at `at`, or says what is wrong with it.
func Validate(s *Summary, at time.Time) (Observation, error) {
	if s == nil {
		return Observation{}, invalid("ClaimedPhoneNumberSummary", "", "missing")
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"PhoneNumberId", s.PhoneNumberID}, {"PhoneNumberArn", s.PhoneNumberArn},
		{"PhoneNumber", s.PhoneNumber}, {"PhoneNumberCountryCode", s.PhoneNumberCountryCode},
		{"PhoneNumberType", s.PhoneNumberType}, {"PhoneNumberDescription", s.PhoneNumberDescription},
		{"TargetArn", s.TargetArn}, {"InstanceId", s.InstanceID},
	} {
		if f.v != nil && !utf8.ValidString(*f.v) {
			return Observation{}, invalid(f.name, *f.v, "not valid UTF-8")
		}
	}
	if str(s.PhoneNumberID) == "" {
		return Observation{}, invalid("PhoneNumberId", str(s.PhoneNumberID), "missing")
	}
	if !e164.MatchString(str(s.PhoneNumber)) {
		return Observation{}, invalid("PhoneNumber", str(s.PhoneNumber), "must be E.164 (+ and 2 to 15 digits)")
	}
	if s.PhoneNumberStatus == nil || s.PhoneNumberStatus.Status == nil {
		return Observation{}, invalid("PhoneNumberStatus.Status", "", "missing")
	}
	st := Status(*s.PhoneNumberStatus.Status)
	switch st {
	case Claimed, InProgress, Failed:
	default:
		return Observation{}, invalid("PhoneNumberStatus.Status", string(st), "must be CLAIMED, IN_PROGRESS or FAILED")
	}
	msg := str(s.PhoneNumberStatus.Message)
	if !utf8.ValidString(msg) {
		return Observation{}, invalid("PhoneNumberStatus.Message", msg, "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(msg); n > MaxMessageLen {
		return Observation{}, invalid("PhoneNumberStatus.Message", msg,
			fmt.Sprintf("%d characters, more than %d", n, MaxMessageLen))
	}
	return Observation{
		Number: Number{
			ID:          str(s.PhoneNumberID),
			ARN:         str(s.PhoneNumberArn),
			E164:        str(s.PhoneNumber),
			CountryCode: str(s.PhoneNumberCountryCode),
			Type:        str(s.PhoneNumberType),
			Description: cutText(str(s.PhoneNumberDescription), MaxDescriptionLen),
			TargetARN:   str(s.TargetArn),
			InstanceID:  str(s.InstanceID),
		},
		Status:  st,
		Message: msg,
		At:      at.UTC(),
	}, nil
}

// cutText is s cut to at most limit characters, the last of them an ellipsis when cut.
func cutText(s string, limit int) string {
	n := 0
	for i := range s {
		if n == limit-1 && utf8.RuneCountInString(s[i:]) > 1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
