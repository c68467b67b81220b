package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/phonewatch/phonewatch/internal/faultproxy"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/testenv"
)

var (
	_ monitor.Cursor = (*Dynamo)(nil)
	_ monitor.Cursor = (*File)(nil)
)

// putRaw stores an item written by hand (a person, a bug, another version) under id, given as
// the file store's JSON: in the file as that entry, in DynamoDB with JSON strings as S, numbers
// as N and objects as M.
func putRaw(t *testing.T, s monitor.Store, id, item string) {
	t.Helper()
	switch s := s.(type) {
	case *File:
		m, err := s.load()
		if err != nil {
			t.Fatal(err)
		}
		m[id] = json.RawMessage(item)
		if err := s.write(m); err != nil {
			t.Fatal(err)
		}
	case *Dynamo:
		dec := json.NewDecoder(strings.NewReader(item))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("item %s: %v", id, err)
		}
		av, ok := toAV(v).(*types.AttributeValueMemberM)
		if !ok {
			t.Fatalf("item %s is not an object", id)
		}
		_, err := s.client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av.Value})
		if err != nil {
			t.Fatalf("PutItem %s: %v", id, err)
		}
	default:
		t.Fatalf("putRaw: unknown store %T", s)
	}
}

// getRaw returns the stored item of id as JSON objects decode (numbers as json.Number).
func getRaw(t *testing.T, s monitor.Store, id string) map[string]any {
	t.Helper()
	var b []byte
	switch s := s.(type) {
	case *File:
		m, err := s.load()
		if err != nil {
			t.Fatal(err)
		}
		b = m[id]
	case *Dynamo:
		out, err := s.client.GetItem(context.Background(), &dynamodb.GetItemInput{
			TableName: aws.String(s.table), Key: key(id), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err = json.Marshal(fromAV(&types.AttributeValueMemberM{Value: out.Item}))
		if err != nil {
			t.Fatal(err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("item %s: %v (%s)", id, err, b)
	}
	return m
}

func toAV(v any) types.AttributeValue {
	switch v := v.(type) {
	case string:
		return &types.AttributeValueMemberS{Value: v}
	case json.Number:
		return &types.AttributeValueMemberN{Value: v.String()}
	case bool:
		return &types.AttributeValueMemberBOOL{Value: v}
	case map[string]any:
		m := map[string]types.AttributeValue{}
		for k, e := range v {
			m[k] = toAV(e)
		}
		return &types.AttributeValueMemberM{Value: m}
	case []any:
		l := make([]types.AttributeValue, len(v))
		for i, e := range v {
			l[i] = toAV(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	default:
		return &types.AttributeValueMemberNULL{Value: true}
	}
}

func fromAV(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return json.Number(v.Value)
	case *types.AttributeValueMemberBOOL:
		return v.Value
	case *types.AttributeValueMemberM:
		m := map[string]any{}
		for k, e := range v.Value {
			m[k] = fromAV(e)
		}
		return m
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = fromAV(e)
		}
		return l
	default:
		return nil
	}
}

// Items not in the format phonewatch writes come back Invalid, naming the attribute and its
// value, each alone: the valid records around them read as ever, through All and Get.
func TestInvalidRecords(t *testing.T) {
	cases := []struct {
		id, item string
		want     []string // in Invalid; none: the record is valid
	}{
		{"no-version", `{"phoneNumberId": "no-version", "status": "FAILED", "checkedAt": "2026-11-26T05:40:00Z"}`,
			[]string{"no version"}},
		{"string-version", `{"phoneNumberId": "string-version", "status": "CLAIMED", "checkedAt": "2026-11-26T05:40:00Z", "version": "3"}`,
			[]string{"version", `"3"`, "want a number"}},
		{"fraction-version", `{"phoneNumberId": "fraction-version", "status": "CLAIMED", "checkedAt": "2026-11-26T05:40:00Z", "version": 1.5}`,
			[]string{"version", "1.5", "whole number"}},
		{"negative-version", `{"phoneNumberId": "negative-version", "status": "CLAIMED", "checkedAt": "2026-11-26T05:40:00Z", "version": -2}`,
			[]string{"version -2 is negative"}},
		{"bad-checkedat", `{"phoneNumberId": "bad-checkedat", "status": "CLAIMED", "checkedAt": "yesterday", "version": 1}`,
			[]string{"checkedAt", `"yesterday"`}},
		{"unknown-status", `{"phoneNumberId": "unknown-status", "status": "RELEASED", "checkedAt": "2026-11-26T05:40:00Z", "version": 1}`,
			[]string{"status", `"RELEASED"`}},
		{"bad-episode", `{"phoneNumberId": "bad-episode", "status": "FAILED", "checkedAt": "2026-11-26T05:40:00Z", "version": 1,
			"episode": {"failedSince": "soon", "retryDeadline": "2026-11-27T05:40:00Z", "deadlineBasis": "transition"}}`,
			[]string{"episode", "soon"}},
		{"unknown-basis", `{"phoneNumberId": "unknown-basis", "status": "FAILED", "checkedAt": "2026-11-26T05:40:00Z", "version": 1,
			"episode": {"failedSince": "2026-11-26T05:40:00Z", "retryDeadline": "2026-11-27T05:40:00Z", "deadlineBasis": "guess"}}`,
			[]string{"deadlineBasis", `"guess"`}},
		// A claim no run can hold is the domain's to void (Record.Check): the store reads it as is.
		{"claim-2099", `{"phoneNumberId": "claim-2099", "status": "FAILED", "checkedAt": "2026-11-26T05:40:00Z", "version": 4,
			"claimedBy": "someone", "claimUntil": "2099-01-01T00:00:00Z"}`, nil},
	}
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		mustSave(t, s, minimalRecord("a-good"), minimalRecord("z-good"))
		var all []string
		for _, c := range cases {
			putRaw(t, s, c.id, c.item)
			all = append(all, c.id)
		}
		all = append(all, "a-good", "z-good")
		slices.Sort(all)

		got := mustAll(t, s)
		if !slices.Equal(ids(got), all) {
			t.Fatalf("All = %v, want every item once: %v", ids(got), all)
		}
		for _, c := range cases {
			r := mustGet(t, s, c.id)
			i := slices.IndexFunc(got, func(r status.Record) bool { return r.ID == c.id })
			if !equalRecords(got[i], r) {
				t.Errorf("%s: All and Get differ:\n%+v\n%+v", c.id, got[i], r)
			}
			if c.want == nil {
				if r.Invalid != "" {
					t.Errorf("%s: Invalid %q, want a valid record", c.id, r.Invalid)
				}
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(r.Invalid, w) {
					t.Errorf("%s: Invalid = %q, want it to say %s", c.id, r.Invalid, w)
				}
			}
			if !equalRecords(r, status.Record{Number: status.Number{ID: c.id}, Invalid: r.Invalid}) {
				t.Errorf("%s: an invalid record carries more than its ID: %+v", c.id, r)
			}
		}
		claim := mustGet(t, s, "claim-2099")
		if claim.Version != 4 || claim.ClaimedBy != "someone" || claim.ClaimUntil.Year() != 2099 {
			t.Errorf("claim until 2099 read as %+v", claim)
		}
		claim.ClaimedBy, claim.ClaimUntil = "", time.Time{}
		mustSave(t, s, claim) // the domain voids it; the store writes the voided record back
		if r := mustGet(t, s, "claim-2099"); r.Version != 5 || r.ClaimedBy != "" || !r.ClaimUntil.IsZero() {
			t.Errorf("voided claim stored as %+v", r)
		}

		// A valid record among them is still written, and an Invalid one never is.
		good := mustGet(t, s, "a-good")
		good.StatusMessage = "still written"
		bad := mustGet(t, s, "no-version")
		_, err := s.Save(context.Background(), []status.Record{good, bad})
		if rejected, _ := NotWritten(err); !slices.Equal(rejected, []string{"no-version"}) {
			t.Errorf("Save of an Invalid record: err %v, want it rejected alone", err)
		}
		if r := mustGet(t, s, "a-good"); r.StatusMessage != "still written" {
			t.Errorf("the valid record beside an Invalid one was not written: %+v", r)
		}

		// A new record over an item that is not one conflicts: it is a person's to fix.
		c, err := s.Save(context.Background(), []status.Record{minimalRecord("bad-checkedat")})
		if err != nil || !slices.Equal(c, []string{"bad-checkedat"}) {
			t.Errorf("Save over an invalid item: conflicts %v, err %v; want a conflict", c, err)
		}
		// Writing the others left the invalid items as they were.
		if r := mustGet(t, s, "bad-checkedat"); !strings.Contains(r.Invalid, "yesterday") {
			t.Errorf("bad-checkedat after the saves: %+v", r)
		}
		if got := getRaw(t, s, "string-version"); got["version"] != "3" {
			t.Errorf("string-version stored as %v after the saves, want it untouched", got)
		}
	})
}

// equalRecords compares records field by field (times by instant, through their JSON).
func equalRecords(a, b status.Record) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb) && a.Invalid == b.Invalid
}

// Attributes that a newer version wrote survive this version's write; known attributes the
// record now leaves empty are removed; and a record without a format reads as format 1 (0).
func TestForeignAttributesKept(t *testing.T) {
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		putRaw(t, s, "n1", `{"phoneNumberId": "n1", "status": "FAILED", "statusMessage": "quota",
			"checkedAt": "2026-11-26T05:40:00Z", "version": 3, "format": 3,
			"futureField": "kept", "futureMap": {"depth": 2}, "repeated": ["n1/FAILED/1"]}`)
		putRaw(t, s, "old", `{"phoneNumberId": "old", "status": "CLAIMED", "checkedAt": "2026-11-26T05:40:00Z", "version": 7}`)

		r := mustGet(t, s, "n1")
		if r.Invalid != "" || r.Version != 3 || r.Format != 3 || r.StatusMessage != "quota" {
			t.Fatalf("read %+v", r)
		}
		if old := mustGet(t, s, "old"); old.Invalid != "" || old.Format != 0 || old.Version != 7 {
			t.Errorf("a record of format 1 read as %+v", old)
		}
		r.Status, r.StatusMessage, r.Format = status.Claimed, "", status.RecordFormat
		mustSave(t, s, r)

		raw := getRaw(t, s, "n1")
		if raw["futureField"] != "kept" {
			t.Errorf("futureField = %#v, want it kept: %v", raw["futureField"], raw)
		}
		if m, ok := raw["futureMap"].(map[string]any); !ok || m["depth"] != json.Number("2") {
			t.Errorf("futureMap = %#v, want it kept", raw["futureMap"])
		}
		if _, ok := raw["statusMessage"]; ok {
			t.Errorf("statusMessage kept although the record cleared it: %v", raw)
		}
		if _, ok := raw["repeated"]; ok {
			t.Errorf("repeated (retired by issue 18) kept as a newer version's attribute: %v", raw)
		}
		if raw["status"] != "CLAIMED" || raw["version"] != json.Number("4") || raw["format"] != json.Number("2") {
			t.Errorf("stored %v, want status CLAIMED, version 4, format 2", raw)
		}
	})
}

// A record the store must refuse fails alone, named in a *NotWrittenError; the others are written.
func TestBadRecordFailsAlone(t *testing.T) {
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		negative := minimalRecord("neg")
		negative.Version = -1
		invalidRec := status.Record{Number: status.Number{ID: "bad"}, Invalid: "no version"}
		batch := []status.Record{minimalRecord("a"), negative, invalidRec, minimalRecord(cursorKey), minimalRecord("b")}
		conflicts, err := s.Save(context.Background(), batch)
		if len(conflicts) != 0 || !errors.Is(err, ErrNotWritten) {
			t.Fatalf("Save: conflicts %v, err %v; want an ErrNotWritten", conflicts, err)
		}
		rejected, later := NotWritten(err)
		slices.Sort(rejected)
		if want := []string{cursorKey, "bad", "neg"}; !slices.Equal(rejected, want) || len(later) != 0 {
			t.Errorf("rejected %v, later %v; want rejected %v", rejected, later, want)
		}
		for _, w := range []string{"negative version -1", "neg", "reserved"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
		if got := ids(mustAll(t, s)); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("stored %v, want the two good records", got)
		}
	})
}

// The cursor only moves forward, keeps nanoseconds, and is never a record.
func TestCursor(t *testing.T) {
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		ctx := context.Background()
		c := s.(monitor.Cursor)
		if got, err := c.Cursor(ctx); err != nil || !got.IsZero() {
			t.Fatalf("Cursor of an empty store = %v, %v; want zero", got, err)
		}
		mustSave(t, s, minimalRecord("n1"))
		steps := []struct {
			set, want time.Time
		}{
			{t0, t0},
			{t0.Add(-time.Nanosecond), t0}, // earlier: kept as it was
			{t0.Add(time.Second), t0.Add(time.Second)},
			{time.Time{}, t0.Add(time.Second)}, // zero: nothing to store
			{t0.Add(time.Second + time.Nanosecond).In(time.FixedZone("X", 3600)), t0.Add(time.Second + time.Nanosecond)},
		}
		for i, st := range steps {
			if err := c.SetCursor(ctx, st.set); err != nil {
				t.Fatalf("step %d: SetCursor: %v", i, err)
			}
			if got, err := c.Cursor(ctx); err != nil || !got.Equal(st.want) {
				t.Fatalf("step %d: Cursor = %v, %v; want %v", i, got, err, st.want)
			}
		}
		if got := ids(mustAll(t, s)); !slices.Equal(got, []string{"n1"}) {
			t.Errorf("All = %v, want only the record (never the cursor)", got)
		}
		if _, err := s.Get(ctx, []string{"n1", cursorKey}); !errors.Is(err, errReservedID) {
			t.Errorf("Get of the cursor's key: err %v, want %v", err, errReservedID)
		}
		if r := mustGet(t, s, "n1"); r.Version != 1 {
			t.Errorf("the record changed with the cursor: %+v", r)
		}
	})
}

// Two writers racing with cursors in opposite orders leave the latest, and a reader never sees
// the cursor go back. DynamoDB goes through a serialized proxy: moto_server does not make a
// conditional write atomic against concurrent requests, DynamoDB does (see faultproxy).
func TestCursorTwoWriters(t *testing.T) {
	for _, name := range []string{"file", "dynamo"} {
		t.Run(name, func(t *testing.T) {
			a, b := twoCursors(t, name)
			ctx := context.Background()
			const n = 40
			done := make(chan error, 2)
			write := func(c monitor.Cursor, step func(i int) time.Time) {
				for i := range n {
					if err := c.SetCursor(ctx, step(i)); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}
			go write(a, func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) })
			go write(b, func(i int) time.Time { return t0.Add(time.Duration(n-1-i)*time.Second + time.Millisecond) })
			var last time.Time
			for finished := 0; finished < 2; {
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("SetCursor: %v", err)
					}
					finished++
				default:
				}
				got, err := a.Cursor(ctx)
				if err != nil {
					t.Fatalf("Cursor: %v", err)
				}
				if got.Before(last) {
					t.Fatalf("the cursor went back from %v to %v", last, got)
				}
				last = got
			}
			want := t0.Add((n-1)*time.Second + time.Millisecond)
			for _, c := range []monitor.Cursor{a, b} {
				if got, err := c.Cursor(ctx); err != nil || !got.Equal(want) {
					t.Errorf("Cursor = %v, %v; want the latest %v", got, err, want)
				}
			}
		})
	}
}

// Files written by the previous file store (records only, no cursor, no format) read as they
// are, and keep their records when the cursor is first stored.
func TestFileOfPreviousVersion(t *testing.T) {
	f := NewFile(t.TempDir() + "/state.json")
	old := `{
  "n1": {
    "phoneNumberId": "n1",
    "status": "CLAIMED",
    "checkedAt": "2026-11-26T05:40:00.123456789Z",
    "version": 2
  }
}
`
	if err := os.WriteFile(f.path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if c, err := f.Cursor(ctx); err != nil || !c.IsZero() {
		t.Fatalf("Cursor = %v, %v", c, err)
	}
	if err := f.SetCursor(ctx, t0); err != nil {
		t.Fatal(err)
	}
	r := mustGet(t, f, "n1")
	if r.Invalid != "" || r.Version != 2 || !r.CheckedAt.Equal(t0) {
		t.Errorf("read %+v", r)
	}
	if got := ids(mustAll(t, f)); !slices.Equal(got, []string{"n1"}) {
		t.Errorf("All = %v", got)
	}
}

// twoCursors returns two writers of one cursor: for the file store, one File used by two
// goroutines (its calls are serialized; two processes on one file are not locked); for
// DynamoDB, two clients of one table through a serialized faultproxy.
func twoCursors(t *testing.T, name string) (monitor.Cursor, monitor.Cursor) {
	t.Helper()
	if name == "file" {
		f := NewFile(t.TempDir() + "/state.json")
		return f, f
	}
	d := newTestDynamo(t, nil)
	proxy := faultproxy.New(t, testenv.MotoURL(t))
	proxy.Serialize()
	via := func() *Dynamo {
		cfg, err := config.LoadDefaultConfig(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(proxy.URL) })
		return NewDynamo(client, d.table)
	}
	return via(), via()
}

// A cancellation whose reasons do not line up with the items (faultproxy sends none) still
// means nothing was written: every record is reported unwritten, for a later save.
func TestDynamoCancelledWithoutReasons(t *testing.T) {
	d := newTestDynamo(t, nil)
	proxy := faultproxy.New(t, testenv.MotoURL(t))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	via := NewDynamo(dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(proxy.URL) }), d.table)
	proxy.Inject("TransactWriteItems", 1, faultproxy.Fault{
		Status:  http.StatusBadRequest,
		Type:    "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
		Message: "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
	})
	recs := records("r", 4)
	conflicts, err := via.Save(context.Background(), recs)
	if _, later := NotWritten(err); len(conflicts) != 0 || !slices.Equal(later, ids(recs)) {
		t.Fatalf("conflicts %v, err %v; want all 4 unwritten, for later", conflicts, err)
	}
	if proxy.Injected() != 1 || len(mustAll(t, via)) != 0 {
		t.Fatalf("injected %d, stored %d; want the one fault and nothing stored", proxy.Injected(), len(mustAll(t, via)))
	}
	mustSave(t, via, recs...)
	if n := len(mustAll(t, via)); n != 4 {
		t.Errorf("the later save stored %d, want 4", n)
	}
}

// TestBadCursorReplacedOnce (issue 18.3): a cursor item that is not a time (a string, a
// negative number) or lies in the future (2099) would hold the cursor back for ever: the next
// SetCursor replaces it, once, and says so with monitor.ErrCursorReplaced naming the old value;
// the cursor then moves as usual. One slightly ahead (another host's clock, within
// status.MaxSkew) is a later cursor like any other and is kept. Before issue 18 the string
// and 2099 stayed for ever.
func TestBadCursorReplacedOnce(t *testing.T) {
	future := t0.Add(status.MaxSkew - time.Second)
	testCases := []struct {
		name   string
		dynamo string // the cursor item, as stored in DynamoDB
		file   string // the cursor entry, in the state file
		bad    bool
	}{
		{"a string", `{"phoneNumberId": "` + cursorKey + `", "cursor": "yesterday"}`,
			`{"phoneNumberId": "` + cursorKey + `", "cursor": "yesterday"}`, true},
		{"negative", `{"phoneNumberId": "` + cursorKey + `", "cursor": -5}`,
			`{"phoneNumberId": "` + cursorKey + `", "cursor": -5}`, true},
		{"in 2099", `{"phoneNumberId": "` + cursorKey + `", "cursor": 4070908800000000000}`,
			`{"phoneNumberId": "` + cursorKey + `", "cursor": "2099-01-01T00:00:00Z"}`, true},
		{"within the skew tolerance", `{"phoneNumberId": "` + cursorKey + `", "cursor": ` + strconv.FormatInt(future.UnixNano(), 10) + `}`,
			`{"phoneNumberId": "` + cursorKey + `", "cursor": "` + future.Format(time.RFC3339Nano) + `"}`, false},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, s monitor.Store) {
				ctx := context.Background()
				c := s.(monitor.Cursor)
				item := tc.dynamo
				if _, ok := s.(*File); ok {
					item = tc.file
				}
				putRaw(t, s, cursorKey, item)

				err := c.SetCursor(ctx, t0)
				if got := errors.Is(err, monitor.ErrCursorReplaced); got != tc.bad || (err != nil && !tc.bad) {
					t.Fatalf("SetCursor over %s: %v; want replaced %v", tc.name, err, tc.bad)
				}
				want := t0
				if !tc.bad {
					want = future
				}
				if got, err := c.Cursor(ctx); err != nil || !got.Equal(want) {
					t.Fatalf("Cursor after = %v, %v; want %v", got, err, want)
				}
				if err := c.SetCursor(ctx, want.Add(time.Second)); err != nil {
					t.Errorf("the next SetCursor: %v, want it stored quietly (replaced once)", err)
				}
				if got, _ := c.Cursor(ctx); !got.Equal(want.Add(time.Second)) {
					t.Errorf("Cursor = %v, want %v", got, want.Add(time.Second))
				}
			})
		})
	}
}
