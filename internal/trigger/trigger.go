// Package trigger turns the payload a Lambda invocation of phonewatch receives into a Request:
// a scheduled run, or a check of named numbers and targets (DESIGN.md, "Events the handler
// accepts"). Anything else is rejected with a one-line error that says what was expected, so
// that a bad event fails before anything is read from Connect or written anywhere.
package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxPayload is the largest payload Parse reads; a larger one is rejected before parsing.
const MaxPayload = 256 * 1024

// MaxIDs is the most entries a check request may list in phoneNumberIds, and separately in
// targetArns.
const MaxIDs = 1000

// Request is what one invocation asks for.
type Request struct {
	Scheduled      bool     // a schedule tick or empty payload: check targets + every number in state
	PhoneNumberIDs []string // check exactly these now (IDs or ARNs), deduplicated, in order
	TargetARNs     []string
	// Source is the scheduler that sent a scheduled event ("aws.events" or "aws.scheduler"),
	// "" for an empty payload, {} or null: only the schedule's own runs count as its heartbeat
	// (the ScheduledRuns metric), so that manual runs cannot hide a schedule that stopped.
	Source string
}

// The field names of a check request, and of the EventBridge envelope fields Parse looks at.
const (
	fieldIDs        = "phoneNumberIds"
	fieldTargets    = "targetArns"
	fieldSource     = "source"
	fieldDetailType = "detail-type"
	fieldDetail     = "detail"
)

// jsonSpace is JSON's whitespace (RFC 8259): all a payload may hold around its value.
const jsonSpace = " \t\r\n"

// expected ends most errors: the two things a payload may be.
const expected = `want a scheduled event or a check request {"phoneNumberIds":[…]} and/or {"targetArns":[…]}`

// Parse reads one invocation payload. Accepted are:
//   - an empty or whitespace-only payload, `null` and `{}`: a scheduled run;
//   - an EventBridge scheduled event ("source" "aws.events", as a schedule rule sends it and
//     `sam local generate-event cloudwatch scheduled-event` prints it) or an EventBridge
//     Scheduler one ("source" "aws.scheduler", whose "detail" is the JSON string "{}"), both
//     with "detail-type" "Scheduled Event": a scheduled run. Other envelope fields are AWS's
//     and are not checked, but a check request's fields may not ride along;
//   - a check request {"phoneNumberIds":[…], "targetArns":[…]} with at least one entry, at
//     most MaxIDs in each list, every entry valid (ValidPhoneNumberRef, ValidTargetARN).
//     Duplicates are dropped, keeping the first; unknown fields are rejected by name.
//
// The payload must be one JSON value without duplicate keys or trailing data.
func Parse(payload []byte) (Request, error) {
	if len(payload) > MaxPayload {
		return Request{}, fmt.Errorf("payload is %d bytes, over the %d-byte limit: %s", len(payload), MaxPayload, expected)
	}
	if !utf8.Valid(payload) {
		return Request{}, fmt.Errorf("payload is not valid UTF-8: %s", expected)
	}
	body := bytes.TrimLeft(payload, jsonSpace)
	if len(body) == 0 {
		return Request{Scheduled: true}, nil
	}
	keys, err := scan(payload)
	if err != nil {
		return Request{}, err
	}
	switch body[0] {
	case 'n':
		return Request{Scheduled: true}, nil
	case '{':
	default:
		return Request{}, fmt.Errorf("payload is %s, not an object: %s", kind(body), expected)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil {
		return Request{}, fmt.Errorf("payload: %w", err) // scan accepted it, so this is not expected
	}
	if len(fields) == 0 {
		return Request{Scheduled: true}, nil
	}
	_, hasSource := fields[fieldSource]
	_, hasDetailType := fields[fieldDetailType]
	if hasSource || hasDetailType {
		return scheduledEvent(fields)
	}
	return checkRequest(keys, fields)
}

// scheduledEvent accepts an EventBridge envelope only if it is a scheduled event.
func scheduledEvent(fields map[string]json.RawMessage) (Request, error) {
	for _, k := range []string{fieldIDs, fieldTargets} {
		if _, ok := fields[k]; ok {
			return Request{}, fmt.Errorf("a scheduled event cannot carry %q: send a check request on its own", k)
		}
	}
	source, err := stringField(fields, fieldSource)
	if err != nil {
		return Request{}, err
	}
	detailType, err := stringField(fields, fieldDetailType)
	if err != nil {
		return Request{}, err
	}
	if (source != "aws.events" && source != "aws.scheduler") || detailType != "Scheduled Event" {
		return Request{}, fmt.Errorf(`unsupported event: source %s, detail-type %s; want source "aws.events" or "aws.scheduler" with detail-type "Scheduled Event", or a check request`,
			quote(source, 40), quote(detailType, 40))
	}
	if err := scheduledDetail(fields[fieldDetail]); err != nil {
		return Request{}, err
	}
	return Request{Scheduled: true, Source: source}, nil
}

// scheduledDetail accepts a scheduled event's "detail": absent, an object (EventBridge rules
// send {}), or a string holding one (EventBridge Scheduler sends "{}"). Its content is unused.
func scheduledDetail(raw json.RawMessage) error {
	if raw == nil || raw[0] == '{' || string(raw) == "null" {
		return nil
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		if inner := bytes.TrimLeft([]byte(s), jsonSpace); len(inner) > 0 && inner[0] == '{' && json.Valid(inner) {
			return nil
		}
		return fmt.Errorf(`scheduled event "detail" is the string %s, not a JSON object in a string`, quote(s, 40))
	}
	return fmt.Errorf(`scheduled event "detail" is %s: want an object or a JSON string of one`, kind(raw))
}

// stringField returns fields[name] as a string ("" when absent), or says that it is no string.
func stringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok {
		return "", nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("event field %q is %s: want a string", name, kind(raw))
	}
	return s, nil
}

// checkRequest reads {"phoneNumberIds":[…], "targetArns":[…]}; keys are the payload's fields in
// order, so that the first unknown one is the one named.
func checkRequest(keys []string, fields map[string]json.RawMessage) (Request, error) {
	for _, k := range keys {
		if k != fieldIDs && k != fieldTargets {
			return Request{}, fmt.Errorf("unknown field %s: %s", quote(k, 40), expected)
		}
	}
	ids, err := refList(fields[fieldIDs], fieldIDs, ValidPhoneNumberRef)
	if err != nil {
		return Request{}, err
	}
	targets, err := refList(fields[fieldTargets], fieldTargets, ValidTargetARN)
	if err != nil {
		return Request{}, err
	}
	if len(ids) == 0 && len(targets) == 0 {
		return Request{}, fmt.Errorf("check request lists nothing: want at least one entry in %q or %q", fieldIDs, fieldTargets)
	}
	return Request{PhoneNumberIDs: ids, TargetARNs: targets}, nil
}

// refList reads one list of a check request: an array of at most MaxIDs strings, each passing
// valid, returned without duplicates in first-seen order (nil when the field is absent).
func refList(raw json.RawMessage, name string, valid func(string) error) ([]string, error) {
	if raw == nil {
		return nil, nil
	}
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, fmt.Errorf("%q is %s: want an array of strings", name, kind(raw))
	}
	if len(items) > MaxIDs {
		return nil, fmt.Errorf("%q has %d entries, more than the %d allowed in one request", name, len(items), MaxIDs)
	}
	var out []string
	seen := make(map[string]bool, len(items))
	for i, item := range items {
		var s string
		if item[0] != '"' || json.Unmarshal(item, &s) != nil {
			return nil, fmt.Errorf("%s[%d] is %s: want a string", name, i, kind(item))
		}
		if err := valid(s); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", name, i, err)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// kind names the type of a JSON value from its first byte, for error messages.
func kind(v []byte) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// scan checks that payload is exactly one well-formed JSON value with no key twice in any object,
// and returns the keys of the top-level object in order (none for other values). encoding/json
// alone would silently keep the last of two equal keys and ignore trailing data.
func scan(payload []byte) ([]string, error) {
	type object struct {
		keys    map[string]bool
		wantKey bool // the next token is a key or the closing brace
	}
	var (
		dec   = json.NewDecoder(bytes.NewReader(payload))
		stack []*object // one entry per open container; nil for an array
		top   []string
	)
	dec.UseNumber() // numbers are only skipped: never fail on one too large for a float64
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		if n := len(stack); n > 0 && stack[n-1] != nil && stack[n-1].wantKey && tok != json.Delim('}') {
			key := tok.(string) // Token returns only strings in key position
			if stack[n-1].keys[key] {
				return nil, fmt.Errorf("payload has the key %s twice (before byte %d): each field may appear once",
					quote(key, 40), dec.InputOffset())
			}
			stack[n-1].keys[key] = true
			stack[n-1].wantKey = false
			if n == 1 {
				top = append(top, key)
			}
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, nil)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value just ended: the whole payload, or one member or element of a container.
		if len(stack) == 0 {
			break
		}
		if o := stack[len(stack)-1]; o != nil {
			o.wantKey = true
		}
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		rest := payload[end:]
		at := end + int64(len(rest)-len(bytes.TrimLeft(rest, jsonSpace)))
		return nil, fmt.Errorf("payload has data after its JSON value (at byte %d): %s", at, expected)
	}
	return top, nil
}

// syntaxError words a decoding error as one line with its position.
func syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("payload is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("payload is not valid JSON: it ends in the middle of a value")
	default:
		return fmt.Errorf("payload is not valid JSON: %w", err)
	}
}
