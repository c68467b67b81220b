package cloudtrail

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/phonewatch/phonewatch/internal/status"
)

// connectSource is the eventSource of every Amazon Connect call.
const connectSource = "connect.amazonaws.com"

// entry is one event of LookupEvents' answer, from the SDK or from a file, before its
// CloudTrailEvent is read. Empty fields are absent ones.
type entry struct {
	EventID, EventName, EventSource string
	EventTime                       time.Time
	CloudTrailEvent                 string
}

// outcome is what parseRecord made of an entry.
type outcome int

const (
	kept    outcome = iota // a phone-number operation Connect accepted
	other                  // another call, or another service's: not phonewatch's business
	refused                // Connect refused the call (errorCode): it changed nothing
)

// errMalformed is wrapped by parseRecord's errors: the record claims to be a phone-number
// operation but lacks what makes it usable.
var errMalformed = errors.New("malformed CloudTrail record")

// parseRecord reads one entry's CloudTrailEvent. The keys' casing inside the record is not
// documented, so every key is matched case-insensitively. The entry's own fields stand in
// for a record's missing eventID, eventName, eventSource and eventTime.
func parseRecord(e entry) (status.Operation, outcome, error) {
	var rec map[string]any
	if err := json.Unmarshal([]byte(e.CloudTrailEvent), &rec); err != nil || rec == nil {
		return status.Operation{}, other, fmt.Errorf("%w %s: CloudTrailEvent is not a JSON object", errMalformed, e.EventID)
	}
	name := cmp.Or(str(rec, "eventName"), e.EventName)
	source := cmp.Or(str(rec, "eventSource"), e.EventSource)
	if !isOperation(name) || (source != "" && source != connectSource) {
		return status.Operation{}, other, nil
	}
	if code, ok := lookup(rec, "errorCode"); ok && code != nil && code != "" {
		return status.Operation{}, refused, nil
	}
	op := status.Operation{
		Name:    name,
		EventID: cmp.Or(str(rec, "eventID"), e.EventID),
		By:      capped(str(rec, "userIdentity", "arn")),
	}
	if op.EventID == "" {
		return op, other, fmt.Errorf("%w: %s without eventID", errMalformed, name)
	}
	at, err := eventTime(str(rec, "eventTime"), e.EventTime)
	if err != nil {
		return op, other, fmt.Errorf("%w %s: %w", errMalformed, op.EventID, err)
	}
	op.At = at
	fillNumber(&op, rec)
	if op.PhoneNumberID == "" && op.PhoneNumberARN == "" && op.E164 == "" {
		return op, other, fmt.Errorf("%w %s: %s names no phone number (ID, ARN or E.164)", errMalformed, op.EventID, name)
	}
	if id := idOf(op.PhoneNumberARN); id != "" && id != op.PhoneNumberID {
		return op, other, fmt.Errorf("%w %s: phone number ID %s and ARN %s disagree", errMalformed, op.EventID, op.PhoneNumberID, op.PhoneNumberARN)
	}
	return op, kept, nil
}

// isOperation reports whether name is one of the calls phonewatch reads.
func isOperation(name string) bool {
	return name == status.OpClaim || name == status.OpUpdate || name == status.OpRelease
}

// eventTime is the record's eventTime (RFC 3339), else the entry's, in UTC.
func eventTime(s string, fallback time.Time) (time.Time, error) {
	if s == "" {
		if fallback.IsZero() {
			return time.Time{}, errors.New("no eventTime")
		}
		return fallback.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("eventTime %q is not RFC 3339", s)
	}
	return t.UTC(), nil
}

// fillNumber sets the number the call was about: a claim's request has the E.164
// phoneNumber and its response the ID and ARN; an update's or release's request has
// phoneNumberId, which may be an ARN. The target is the request's targetArn.
func fillNumber(op *status.Operation, rec map[string]any) {
	req, _ := lookup(rec, "requestParameters")
	resp, _ := lookup(rec, "responseElements")
	reqM, _ := req.(map[string]any)
	respM, _ := resp.(map[string]any)

	op.TargetARN = capped(str(reqM, "targetArn"))
	op.E164 = strings.TrimSpace(str(reqM, "phoneNumber"))
	for _, m := range []map[string]any{reqM, respM} {
		setIDOrARN(op, str(m, "phoneNumberId"))
		setIDOrARN(op, str(m, "phoneNumberArn"))
	}
}

// setIDOrARN records v as the number's ARN (and the ID it ends in) or as its ID, unless
// already known.
func setIDOrARN(op *status.Operation, v string) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
	case strings.HasPrefix(v, "arn:"):
		if op.PhoneNumberARN == "" {
			op.PhoneNumberARN = v
		}
		if id := idOf(v); id != "" && op.PhoneNumberID == "" {
			op.PhoneNumberID = id
		}
	case op.PhoneNumberID == "":
		op.PhoneNumberID = v
	}
}

// idOf is the PhoneNumberId an ARN ends in: Connect's phone number ARNs end in
// phone-number/<PhoneNumberId>. It is "" for any other ARN.
func idOf(arn string) string {
	_, id, found := strings.Cut(arn, ":phone-number/")
	if !found || id == "" || strings.Contains(id, "/") {
		return ""
	}
	return id
}

// lookup follows path through nested objects, matching each key case-insensitively. An
// exact match wins; among keys that differ only in case, the smallest (byte order) does, so
// that the answer does not depend on map order.
func lookup(m map[string]any, path ...string) (any, bool) {
	var v any = m
	for _, key := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[key]; ok {
			continue
		}
		var match []string
		for k := range obj {
			if strings.EqualFold(k, key) {
				match = append(match, k)
			}
		}
		if len(match) == 0 {
			return nil, false
		}
		v = obj[slices.Min(match)]
	}
	return v, true
}

// str is the string at path, or "" when absent or not a string.
func str(m map[string]any, path ...string) string {
	v, _ := lookup(m, path...)
	s, _ := v.(string)
	return s
}

// maxValue is the longest caller or target ARN kept from a record: IAM's limit for an ARN. A
// longer value (a broken or hostile record) is cut here, where it enters, so that it does not
// grow every state record that keeps the operation; messages cap what they show again.
const maxValue = 2048

// capped is s cut to maxValue bytes at a rune boundary.
func capped(s string) string {
	if len(s) <= maxValue {
		return s
	}
	cut := maxValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
