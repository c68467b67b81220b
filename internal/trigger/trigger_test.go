package trigger

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The IDs and ARNs of the check fixtures in ../../events.
const (
	id1       = "7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a95"
	id2       = "e39b0d47-8a21-4c6f-b5d3-90f2a7c81e64"
	numberARN = "arn:aws:connect:us-east-1:123456789012:phone-number/5a8d2f61-c047-4b9e-a3d5-6e1f7b20c948"
	instARN   = "arn:aws:connect:us-east-1:123456789012:instance/2b6f9c41-7e05-4a8d-b1c3-d84e0f5a9276"
	tdgARN    = "arn:aws:connect:us-east-1:123456789012:traffic-distribution-group/9d04e7b2-15ac-4f68-8e3b-a7c52f1d0e49"
)

var scheduled = Request{Scheduled: true}

// byRule and byScheduler are scheduled runs that EventBridge started: they, and not an empty
// payload, count as the schedule's heartbeat.
var (
	byRule      = Request{Scheduled: true, Source: "aws.events"}
	byScheduler = Request{Scheduled: true, Source: "aws.scheduler"}
)

// TestParseEventFiles holds every fixture in events/ to its meaning: what sam, EventBridge and
// Scheduler send is a scheduled run, the check requests parse to exactly their entries, and each
// invalid example fails for its own reason.
func TestParseEventFiles(t *testing.T) {
	tests := []struct {
		file    string
		want    Request
		wantErr string
	}{
		{file: "scheduled-event.json", want: byRule},
		{file: "scheduler-event.json", want: byScheduler},
		{file: "empty.json", want: scheduled},
		{file: "check-request.json", want: Request{PhoneNumberIDs: []string{id1, id2, numberARN}}},
		{file: "check-targets.json", want: Request{TargetARNs: []string{instARN, tdgARN}}},
		{file: "invalid-unknown-field.json", wantErr: `unknown field "phoneNumberId"`},
		{file: "invalid-bad-id.json", wantErr: `phoneNumberIds[0]: invalid phone number "+18005550100": a phone number itself, not its Connect ID`},
		{file: "invalid-source.json", wantErr: `unsupported event: source "aws.s3", detail-type "Object Created"`},
		{file: "invalid-too-many-ids.json", wantErr: `"phoneNumberIds" has 1001 entries, more than the 1000 allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			payload, err := os.ReadFile(filepath.Join("..", "..", "events", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(payload)
			checkParse(t, got, err, tt.want, tt.wantErr)
		})
	}
}

// TestScheduledEventIsWhatSamPrints pins events/scheduled-event.json to the bytes of `sam local
// generate-event cloudwatch scheduled-event` (aws-sam-cli renders its ScheduledEvent.json with
// json.dumps(indent=2) and the default tags, and click.echo adds a newline): no "version" field.
func TestScheduledEventIsWhatSamPrints(t *testing.T) {
	const sam = `{
  "id": "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": "1970-01-01T00:00:00Z",
  "region": "us-east-1",
  "resources": [
    "arn:aws:events:us-east-1:123456789012:rule/ExampleRule"
  ],
  "detail": {}
}
`
	got, err := os.ReadFile(filepath.Join("..", "..", "events", "scheduled-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != sam {
		t.Errorf("events/scheduled-event.json differs from what sam prints:\n%s", got)
	}
}

func TestParse(t *testing.T) {
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("00000000-0000-4000-8000-%012x", i)
		}
		return out
	}
	request := func(field string, entries []string) string {
		return fmt.Sprintf(`{%q:["%s"]}`, field, strings.Join(entries, `","`))
	}
	const rule = `"version":"0","id":"x","account":"123456789012","region":"us-east-1","time":"2026-11-26T06:00:00Z","resources":[]`

	tests := []struct {
		name    string
		payload string
		want    Request
		wantErr string
	}{
		// Scheduled runs.
		{name: "empty", payload: "", want: scheduled},
		{name: "whitespace", payload: " \t\r\n ", want: scheduled},
		{name: "null", payload: "null", want: scheduled},
		{name: "null with whitespace", payload: "\n null \n", want: scheduled},
		{name: "empty object", payload: "{}", want: scheduled},
		{name: "empty object spaced", payload: " { \n } ", want: scheduled},
		{name: "rule event with version", payload: `{` + rule + `,"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`, want: byRule},
		{name: "rule event without detail", payload: `{"source":"aws.events","detail-type":"Scheduled Event"}`, want: byRule},
		{name: "scheduler detail string", payload: `{` + rule + `,"detail-type":"Scheduled Event","source":"aws.scheduler","detail":"{}"}`, want: byScheduler},
		{name: "scheduler detail string with newlines", payload: `{"source":"aws.scheduler","detail-type":"Scheduled Event","detail":"\n{}\n"}`, want: byScheduler},
		{name: "scheduler detail object", payload: `{"source":"aws.scheduler","detail-type":"Scheduled Event","detail":{}}`, want: byScheduler},
		{name: "detail null", payload: `{"source":"aws.events","detail-type":"Scheduled Event","detail":null}`, want: byRule},
		{name: "unknown envelope field tolerated", payload: `{"source":"aws.events","detail-type":"Scheduled Event","replay-name":"r"}`, want: byRule},

		// Check requests.
		{name: "ids and targets", payload: `{"targetArns":["` + tdgARN + `"],"phoneNumberIds":["` + id2 + `"]}`,
			want: Request{PhoneNumberIDs: []string{id2}, TargetARNs: []string{tdgARN}}},
		{name: "duplicates dropped in order", payload: request("phoneNumberIds", []string{id2, id1, id2, numberARN, id1}),
			want: Request{PhoneNumberIDs: []string{id2, id1, numberARN}}},
		{name: "duplicate targets dropped", payload: request("targetArns", []string{instARN, instARN}),
			want: Request{TargetARNs: []string{instARN}}},
		{name: "exactly MaxIDs", payload: request("phoneNumberIds", ids(MaxIDs)), want: Request{PhoneNumberIDs: ids(MaxIDs)}},
		{name: "empty ids with a target", payload: `{"phoneNumberIds":[],"targetArns":["` + instARN + `"]}`,
			want: Request{TargetARNs: []string{instARN}}},
		{name: "escaped string", payload: `{"phoneNumberIds":["7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a9\u0035"]}`,
			want: Request{PhoneNumberIDs: []string{id1}}},

		// Not JSON, or not one object.
		{name: "array", payload: `["` + id1 + `"]`, wantErr: "payload is an array, not an object: want a scheduled event or a check request"},
		{name: "number", payload: "42", wantErr: "payload is a number, not an object"},
		{name: "string", payload: `"{}"`, wantErr: "payload is a string, not an object"},
		{name: "boolean", payload: "true", wantErr: "payload is a boolean, not an object"},
		{name: "syntax", payload: `{"phoneNumberIds":[}`, wantErr: "payload is not valid JSON: invalid character '}' looking for beginning of value (at byte 19)"},
		{name: "trailing comma", payload: `{"phoneNumberIds":["` + id1 + `"],}`, wantErr: "payload is not valid JSON"},
		{name: "cut short", payload: `{"phoneNumberIds":["` + id1 + `"]`, wantErr: "payload is not valid JSON: it ends in the middle of a value"},
		{name: "second object", payload: "{}{}", wantErr: "payload has data after its JSON value (at byte 2)"},
		{name: "trailing garbage", payload: "{} x", wantErr: "payload has data after its JSON value"},
		{name: "trailing null", payload: "null null", wantErr: "payload has data after its JSON value"},
		{name: "duplicate key", payload: `{"phoneNumberIds":["` + id1 + `"],"phoneNumberIds":["` + id2 + `"]}`,
			wantErr: `payload has the key "phoneNumberIds" twice`},
		{name: "duplicate nested key", payload: `{"source":"aws.events","detail-type":"Scheduled Event","detail":{"a":1,"a":2}}`,
			wantErr: `payload has the key "a" twice`},
		{name: "keys differing in case are not duplicates but unknown", payload: `{"phoneNumberIds":["` + id1 + `"],"PhoneNumberIds":[]}`,
			wantErr: `unknown field "PhoneNumberIds"`},
		{name: "invalid UTF-8", payload: "{\"phoneNumberIds\":[\"\xff\"]}", wantErr: "payload is not valid UTF-8"},
		{name: "too deep", payload: strings.Repeat("[", 20000), wantErr: "payload is not valid JSON"},

		// Events that are not scheduled ones.
		{name: "S3 notification", payload: `{"Records":[{"eventSource":"aws:s3"}]}`, wantErr: `unknown field "Records": want a scheduled event or a check request`},
		{name: "other source", payload: `{"source":"aws.connect","detail-type":"Scheduled Event"}`, wantErr: `unsupported event: source "aws.connect"`},
		{name: "other detail-type", payload: `{"source":"aws.events","detail-type":"Object Created"}`, wantErr: `detail-type "Object Created"`},
		{name: "no source", payload: `{"detail-type":"Scheduled Event"}`, wantErr: `unsupported event: source ""`},
		{name: "no detail-type", payload: `{"source":"aws.events"}`, wantErr: `source "aws.events", detail-type ""`},
		{name: "source not a string", payload: `{"source":["aws.events"],"detail-type":"Scheduled Event"}`, wantErr: `event field "source" is an array: want a string`},
		{name: "detail a number", payload: `{"source":"aws.events","detail-type":"Scheduled Event","detail":1}`, wantErr: `"detail" is a number: want an object or a JSON string of one`},
		{name: "detail string not JSON", payload: `{"source":"aws.scheduler","detail-type":"Scheduled Event","detail":"nope"}`, wantErr: `"detail" is the string "nope", not a JSON object`},
		{name: "detail string an array", payload: `{"source":"aws.scheduler","detail-type":"Scheduled Event","detail":"[]"}`, wantErr: `not a JSON object in a string`},
		{name: "scheduled event with ids", payload: `{"source":"aws.events","detail-type":"Scheduled Event","phoneNumberIds":["` + id1 + `"]}`,
			wantErr: `a scheduled event cannot carry "phoneNumberIds": send a check request on its own`},

		// Check requests that break a rule.
		{name: "unknown field after a good one", payload: `{"phoneNumberIds":["` + id1 + `"],"dryRun":true}`, wantErr: `unknown field "dryRun"`},
		{name: "first unknown field named", payload: `{"zeta":1,"alpha":2}`, wantErr: `unknown field "zeta"`},
		{name: "empty ids", payload: `{"phoneNumberIds":[]}`, wantErr: `check request lists nothing: want at least one entry in "phoneNumberIds" or "targetArns"`},
		{name: "ids null", payload: `{"phoneNumberIds":null}`, wantErr: `"phoneNumberIds" is null: want an array of strings`},
		{name: "ids a string", payload: `{"phoneNumberIds":"` + id1 + `"}`, wantErr: `"phoneNumberIds" is a string: want an array of strings`},
		{name: "id a number", payload: `{"phoneNumberIds":["` + id1 + `",7]}`, wantErr: `phoneNumberIds[1] is a number: want a string`},
		{name: "empty id", payload: `{"phoneNumberIds":["` + id1 + `",""]}`, wantErr: `phoneNumberIds[1]: invalid phone number "": empty`},
		{name: "too many ids", payload: request("phoneNumberIds", ids(MaxIDs+1)), wantErr: `"phoneNumberIds" has 1001 entries`},
		{name: "too many targets", payload: request("targetArns", slicesRepeat(instARN, MaxIDs+1)), wantErr: `"targetArns" has 1001 entries`},
		{name: "instance ARN as a number", payload: `{"phoneNumberIds":["` + instARN + `"]}`, wantErr: `phoneNumberIds[0]: invalid phone number "` + instARN + `": wrong resource type`},
		{name: "number ARN as a target", payload: `{"targetArns":["` + numberARN + `"]}`, wantErr: `targetArns[0]: invalid target ARN "` + numberARN + `": wrong resource type`},
		{name: "target ID without ARN", payload: `{"targetArns":["` + id1 + `"]}`, wantErr: `targetArns[0]: invalid target ARN "` + id1 + `": an ID, not an ARN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.payload))
			checkParse(t, got, err, tt.want, tt.wantErr)
		})
	}
}

// TestParseSizeLimit: MaxPayload bytes are read; one more is refused before parsing, and the
// refusal does not echo the payload.
func TestParseSizeLimit(t *testing.T) {
	atLimit := []byte("{}" + strings.Repeat(" ", MaxPayload-2))
	if got, err := Parse(atLimit); err != nil || !got.Scheduled {
		t.Fatalf("Parse(%d bytes of {} and spaces) = %+v, %v; want a scheduled run", len(atLimit), got, err)
	}
	over := append(atLimit, ' ')
	_, err := Parse(over)
	if err == nil || !strings.Contains(err.Error(), "payload is 262145 bytes, over the 262144-byte limit") {
		t.Fatalf("Parse(%d bytes) error = %v; want the size limit", len(over), err)
	}
	checkErrorShape(t, err)
}

// TestErrorsAreOneShortLine feeds inputs built to produce long or multi-line messages: every
// error stays one line of at most 300 bytes, however long the offending value.
func TestErrorsAreOneShortLine(t *testing.T) {
	long := strings.Repeat("\u2028\x00\n", 30000)
	for _, payload := range []string{
		`{"` + long + `":1}`,
		`{"phoneNumberIds":["` + strings.Repeat("\\u0000", 20000) + `"]}`,
		`{"phoneNumberIds":["arn:aws:connect:us-east-1:123456789012:phone-number/` + strings.Repeat("\\n", 20000) + `"]}`,
		`{"targetArns":["` + strings.Repeat("\\u2028", 20000) + `"]}`,
		`{"source":"` + strings.Repeat("\\u0085", 20000) + `","detail-type":"` + strings.Repeat("\\n", 20000) + `"}`,
		`{"source":"aws.scheduler","detail-type":"Scheduled Event","detail":"` + strings.Repeat("\\r", 20000) + `"}`,
		`{"a":1,"` + strings.Repeat("\\t", 20000) + `":1,"` + strings.Repeat("\\t", 20000) + `":2}`,
		`{"phoneNumberIds":["` + id1 + `"]}` + long,
	} {
		_, err := Parse([]byte(payload))
		if err == nil {
			t.Fatalf("Parse(%.40q…) accepted", payload)
		}
		checkErrorShape(t, err)
	}
}

func checkParse(t *testing.T, got Request, err error, want Request, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil {
			t.Fatalf("Parse = %+v, nil; want an error containing %q", got, wantErr)
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("Parse error = %q; want it to contain %q", err, wantErr)
		}
		checkErrorShape(t, err)
		return
	}
	if err != nil {
		t.Fatalf("Parse error = %v; want %+v", err, want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse = %+v; want %+v", got, want)
	}
}

// maxErrorBytes is the longest error Parse may return: one log line, never the payload.
const maxErrorBytes = 300

func checkErrorShape(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") || len(msg) > maxErrorBytes {
		t.Fatalf("error is not one line of at most %d bytes (%d bytes): %q", maxErrorBytes, len(msg), msg)
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
