package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/testenv"
)

// wire sits between the SDK and moto_server: it records every call (operation and request
// body) and can answer or alter one, to stage what moto never does on its own (a transaction
// conflict, unprocessed keys). Everything else is moto's real answer.
type wire struct {
	next aws.HTTPClient

	mu    sync.Mutex
	calls []call
	// before, when set, may answer a call instead of moto (nil: forward it).
	before func(c call) *http.Response
	// after, when set, may rewrite moto's answer body.
	after func(c call, body []byte) []byte
}

// call is one request: its DynamoDB operation, its JSON body, and its number among the calls
// of that operation (from 1).
type call struct {
	op   string
	body []byte
	nth  int
}

func (w *wire) Do(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	_ = req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(body))
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")

	w.mu.Lock()
	c := call{op: op, body: body, nth: w.count(op) + 1}
	w.calls = append(w.calls, c)
	before, after := w.before, w.after
	w.mu.Unlock()

	if before != nil {
		if resp := before(c); resp != nil {
			resp.Request = req
			return resp, nil
		}
	}
	resp, err := w.next.Do(req)
	if err != nil || after == nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	got, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	changed := after(c, got)
	resp.Body = io.NopCloser(bytes.NewReader(changed))
	resp.ContentLength = int64(len(changed))
	resp.Header.Del("Content-Length")
	resp.Header.Set("X-Amz-Crc32", crc(changed)) // the SDK checks the body against it
	return resp, nil
}

// crc is the X-Amz-Crc32 header DynamoDB sends with a response body.
func crc(body []byte) string { return strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10) }

// answer is a DynamoDB response (JSON 1.0) with this status and body.
func answer(code int, body []byte) *http.Response {
	return &http.Response{
		StatusCode: code,
		Status:     fmt.Sprintf("%d %s", code, http.StatusText(code)),
		Header: http.Header{
			"Content-Type": {"application/x-amz-json-1.0"},
			"X-Amz-Crc32":  {crc(body)},
		},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
	}
}

// count returns how many calls of op were made; w.mu must be held.
func (w *wire) count(op string) int {
	n := 0
	for _, c := range w.calls {
		if op == "" || c.op == op {
			n++
		}
	}
	return n
}

// Count returns how many calls of op (every call for "") were made.
func (w *wire) Count(op string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count(op)
}

// Calls returns the calls made so far.
func (w *wire) Calls() []call {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]call(nil), w.calls...)
}

// Reset forgets the calls made so far.
func (w *wire) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = nil
}

var unsafeTableChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// newTestDynamo returns a store in a table of its own in moto_server (see newTestDynamoClient).
func newTestDynamo(t *testing.T, w *wire) *Dynamo {
	d, _ := newTestDynamoClient(t, w)
	return d
}

// newTestDynamoClient creates a table of its own in moto_server (deleted after the test) and
// returns a store in it and its client; when w is not nil, every call goes through w. Retry
// pauses are shortened to a millisecond.
func newTestDynamoClient(t *testing.T, w *wire) (*Dynamo, *dynamodb.Client) {
	t.Helper()
	url := testenv.MotoURL(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(url)
		if w != nil {
			w.next = o.HTTPClient
			o.HTTPClient = w
		}
	})
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := unsafeTableChars.ReplaceAllString(t.Name(), "-")
	table := fmt.Sprintf("pw-%.180s-%s", name, hex.EncodeToString(suffix))
	_, err = client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(keyAttr), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(keyAttr), KeyType: types.KeyTypeHash},
		},
	})
	if err := testenv.TableCreated(err); err != nil {
		t.Fatalf("create table %s: %v", table, err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	d := NewDynamo(client, table)
	d.retryBase = time.Millisecond
	if w != nil {
		w.Reset() // the table's creation is not the store's doing
	}
	return d, client
}

// rawItem reads one item as DynamoDB holds it.
func rawItem(t *testing.T, client *dynamodb.Client, d *Dynamo, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            map[string]types.AttributeValue{keyAttr: &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem %s: %v", id, err)
	}
	if out.Item == nil {
		t.Fatalf("GetItem %s: no item", id)
	}
	return out.Item
}

// The stored item uses native attributes: S times in RFC 3339 UTC, N version, a map for the
// episode, and no attribute at all for a zero time or an absent episode.
func TestDynamoItemShape(t *testing.T) {
	d, client := newTestDynamoClient(t, nil)
	full, minimal := fullRecord("full"), minimalRecord("minimal")
	full.CheckedAt = full.CheckedAt.In(time.FixedZone("X", -7*3600)) // stored as UTC all the same
	mustSave(t, d, full, minimal)

	item := rawItem(t, client, d, "full")
	wantS := map[string]string{
		keyAttr:          "full",
		"status":         "FAILED",
		"phoneNumber":    "+18005550100",
		"checkedAt":      "2026-11-26T08:40:00.123456789Z",
		"notFailedAt":    "2026-11-26T05:39:00.123456789Z",
		"claimedBy":      "run-1",
		"phoneNumberArn": full.ARN,
	}
	for name, want := range wantS {
		if got, ok := item[name].(*types.AttributeValueMemberS); !ok || got.Value != want {
			t.Errorf("full: %s = %#v, want S %q", name, item[name], want)
		}
	}
	if v, ok := item[versionAttr].(*types.AttributeValueMemberN); !ok || v.Value != "1" {
		t.Errorf("full: version = %#v, want N 1", item[versionAttr])
	}
	ep, ok := item["episode"].(*types.AttributeValueMemberM)
	if !ok || len(ep.Value) != 7 {
		t.Fatalf("full: episode = %#v, want a map of its 7 fields", item["episode"])
	}
	if d, ok := ep.Value["retryDeadline"].(*types.AttributeValueMemberS); !ok || d.Value != "2026-11-27T05:39:00.123456789Z" {
		t.Errorf("full: episode.retryDeadline = %#v", ep.Value["retryDeadline"])
	}

	item = rawItem(t, client, d, "minimal")
	var names []string
	for name := range item {
		names = append(names, name)
	}
	if len(item) != 4 {
		t.Errorf("minimal: attributes %v, want only phoneNumberId, status, checkedAt, version", names)
	}
	for _, absent := range []string{"notFailedAt", "inProgressSince", "stuckSentAt", "claimUntil", "episode", ttlAttr} {
		if _, ok := item[absent]; ok {
			t.Errorf("minimal: %s is stored, want it absent", absent)
		}
	}
}

// expiresAt (the table's TTL) is CheckedAt + 30 days for a retired record and absent otherwise,
// also when a retired number comes back.
func TestDynamoTTL(t *testing.T) {
	d, client := newTestDynamoClient(t, nil)
	gone := func(id string, e *status.Episode) status.Record {
		r := minimalRecord(id)
		r.Status, r.Episode = status.NotFound, e
		return r
	}
	open := &status.Episode{FailedSince: t0, Deadline: t0.Add(24 * time.Hour), Basis: status.BasisFirstObservation}
	expired := *open
	expired.FailedSentAt, expired.ExpiredSentAt = t0, t0.Add(24*time.Hour)
	wantTTL := strconv.FormatInt(t0.Add(30*24*time.Hour).Unix(), 10)
	cases := []struct {
		rec  status.Record
		want string // "" for no TTL
	}{
		{minimalRecord("claimed"), ""},
		{gone("gone-never-failed", nil), wantTTL},
		{gone("gone-expiry-owed", open), ""},
		{gone("gone-expiry-sent", &expired), wantTTL},
	}
	for _, c := range cases {
		mustSave(t, d, c.rec)
		item := rawItem(t, client, d, c.rec.ID)
		got, ok := item[ttlAttr].(*types.AttributeValueMemberN)
		switch {
		case c.want == "" && item[ttlAttr] != nil:
			t.Errorf("%s: expiresAt = %#v, want none", c.rec.ID, item[ttlAttr])
		case c.want != "" && (!ok || got.Value != c.want):
			t.Errorf("%s: expiresAt = %#v, want N %s", c.rec.ID, item[ttlAttr], c.want)
		}
	}

	back := mustGet(t, d, "gone-never-failed")
	back.Status = status.Claimed
	mustSave(t, d, back)
	if v, ok := rawItem(t, client, d, back.ID)[ttlAttr]; ok {
		t.Errorf("a retired number that came back keeps expiresAt %#v", v)
	}
}

// seed writes recs as Save would store them (at version 1), with BatchWriteItem: moto takes
// that in linear time, while its TransactWriteItems is quadratic (see TestDynamoCallCount).
func seed(t *testing.T, client *dynamodb.Client, d *Dynamo, recs []status.Record) {
	t.Helper()
	for chunk := range slices.Chunk(recs, 25) {
		var reqs []types.WriteRequest
		for _, r := range chunk {
			item, err := d.item(r)
			if err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		out, err := client.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{d.table: reqs},
		})
		if err != nil || len(out.UnprocessedItems) != 0 {
			t.Fatalf("seed: %v (unprocessed %d)", err, len(out.UnprocessedItems))
		}
	}
}

// A run over 1000 unchanged numbers reads and writes them in a few dozen calls, reads
// consistently, and conditions every write on the version it read.
//
// moto 5.2 deep-copies the whole table once per item of a TransactWriteItems (for its
// rollback), so 10 transactions of 100 over a 1000-item table take minutes there (2-5 here).
// This test therefore answers the transactions itself, as DynamoDB answers a successful one,
// after checking what each one asks; the tests of 150 and 250 records send theirs to moto.
// Set PHONEWATCH_MOTO_SLOW=1 to send these to moto as well (and check the stored versions).
func TestDynamoCallCount(t *testing.T) {
	w := &wire{}
	d, client := newTestDynamoClient(t, w)
	ctx := context.Background()
	seed(t, client, d, records("n", 1000))

	slow := os.Getenv("PHONEWATCH_MOTO_SLOW") == "1"
	written := map[string]int{}
	w.before = func(c call) *http.Response {
		if c.op != "TransactWriteItems" {
			return nil
		}
		var req struct {
			TransactItems []struct {
				Update struct {
					Key                       map[string]map[string]string
					ConditionExpression       string
					ExpressionAttributeNames  map[string]string
					ExpressionAttributeValues map[string]json.RawMessage
				}
			}
		}
		if err := json.Unmarshal(c.body, &req); err != nil {
			t.Errorf("TransactWriteItems body: %v", err)
		}
		if len(req.TransactItems) > 100 {
			t.Errorf("a transaction of %d items, DynamoDB takes at most 100", len(req.TransactItems))
		}
		for _, it := range req.TransactItems {
			u := it.Update
			id := u.Key[keyAttr]["S"]
			if u.ConditionExpression != "#v = :v" || string(u.ExpressionAttributeValues[":v"]) != `{"N":"1"}` ||
				setValue(u.ExpressionAttributeNames, u.ExpressionAttributeValues, versionAttr) != `{"N":"2"}` {
				t.Errorf("update of %s: condition %q %s; want #v = 1, writing 2",
					id, u.ConditionExpression, u.ExpressionAttributeValues[":v"])
			}
			written[id]++
		}
		if slow {
			return nil
		}
		return answer(http.StatusOK, []byte("{}"))
	}

	all := mustAll(t, d)
	if len(all) != 1000 {
		t.Fatalf("All = %d records, want 1000", len(all))
	}
	for i := range all {
		all[i].CheckedAt = all[i].CheckedAt.Add(time.Minute)
	}
	if c, err := d.Save(ctx, all); err != nil || len(c) != 0 {
		t.Fatalf("Save: conflicts %v, err %v", c, err)
	}
	if n := w.Count(""); n > 60 {
		t.Errorf("All + Save of 1000 records took %d calls, want <= 60", n)
	}
	if n := w.Count("TransactWriteItems"); n != 10 {
		t.Errorf("Save of 1000 records took %d transactions, want 10 of 100", n)
	}
	if len(written) != 1000 {
		t.Errorf("the transactions wrote %d distinct records, want all 1000", len(written))
	}
	for id, n := range written {
		if n != 1 {
			t.Errorf("%s written %d times", id, n)
		}
	}
	for _, c := range w.Calls() {
		if c.op == "Scan" && !bytes.Contains(c.body, []byte(`"ConsistentRead":true`)) {
			t.Errorf("Scan without ConsistentRead: %s", c.body)
		}
	}
	if slow {
		for _, r := range mustAll(t, d) {
			if r.Version != 2 || !r.CheckedAt.Equal(t0.Add(time.Minute)) {
				t.Fatalf("%s: version %d checkedAt %v after the second save", r.ID, r.Version, r.CheckedAt)
			}
		}
	}
}

// setValue is the value an update's expression sets attribute name to (the placeholders of the
// store's updates: #aN = :aN), as JSON, or "" when it sets none.
func setValue(names map[string]string, values map[string]json.RawMessage, name string) string {
	for ph, n := range names {
		if n == name && strings.HasPrefix(ph, "#a") {
			return string(values[":"+strings.TrimPrefix(ph, "#")])
		}
	}
	return ""
}

// cancelled is the answer DynamoDB gives a transaction that another one collides with:
// the item at index `conflict` has TransactionConflict, the others None.
func cancelled(t *testing.T, c call, conflict int) *http.Response {
	var req struct{ TransactItems []json.RawMessage }
	if err := json.Unmarshal(c.body, &req); err != nil {
		t.Errorf("TransactWriteItems body: %v", err)
	}
	reasons := make([]map[string]string, len(req.TransactItems))
	for i := range reasons {
		reasons[i] = map[string]string{"Code": "None"}
	}
	reasons[conflict] = map[string]string{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
	body, _ := json.Marshal(map[string]any{
		"__type":              "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
		"Message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
		"CancellationReasons": reasons,
	})
	return answer(http.StatusBadRequest, body)
}

func TestDynamoTransientCancellation(t *testing.T) {
	cases := []struct {
		name      string
		failCalls int // how many TransactWriteItems calls are cancelled by a conflict
		wantErr   bool
		wantCalls int
	}{
		{"one conflict, then written", 1, false, 2},
		{"two conflicts, then written", 2, false, 3},
		{"conflicts outlast the retries", 100, true, maxRetries + 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &wire{}
			d := newTestDynamo(t, w)
			w.before = func(call call) *http.Response {
				if call.op == "TransactWriteItems" && call.nth <= c.failCalls {
					return cancelled(t, call, 1)
				}
				return nil
			}
			recs := records("t", 5)
			conflicts, err := d.Save(context.Background(), recs)
			if (err != nil) != c.wantErr || len(conflicts) != 0 {
				t.Fatalf("Save: conflicts %v, err %v; want error %v", conflicts, err, c.wantErr)
			}
			if c.wantErr {
				// The caller must learn that nothing was written and may be retried later.
				_, later := NotWritten(err)
				if !errors.Is(err, ErrNotWritten) || !slices.Equal(later, ids(recs)) {
					t.Errorf("err %v: want a NotWrittenError naming all %d records for later", err, len(recs))
				}
				for _, w := range []string{"TransactionConflict", "not written", "delayed, not lost"} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			}
			if n := w.Count("TransactWriteItems"); n != c.wantCalls {
				t.Errorf("%d TransactWriteItems calls, want %d", n, c.wantCalls)
			}
			w.before = nil
			want := len(recs)
			if c.wantErr {
				want = 0
			}
			if all := mustAll(t, d); len(all) != want {
				t.Errorf("%d records stored, want %d", len(all), want)
			}
		})
	}
}

// With many concurrent runs, conflicts may exhaust the retries of one transaction: its records
// are reported unwritten (for later), the next chunk is still written, and a later save (the
// next run) writes the delayed ones: delayed, never lost.
func TestDynamoConflictsExhaustedDelayNotLose(t *testing.T) {
	w := &wire{}
	d := newTestDynamo(t, w)
	recs := records("e", 150) // chunks e-0000..e-0099 and e-0100..e-0149
	w.before = func(c call) *http.Response {
		if c.op == "TransactWriteItems" && bytes.Contains(c.body, []byte(`"e-0000"`)) {
			return cancelled(t, c, 3)
		}
		return nil
	}
	conflicts, err := d.Save(context.Background(), recs)
	if len(conflicts) != 0 || !errors.Is(err, ErrNotWritten) {
		t.Fatalf("Save: conflicts %v, err %v; want ErrNotWritten", conflicts, err)
	}
	rejected, later := NotWritten(err)
	if len(rejected) != 0 || !slices.Equal(later, ids(recs[:100])) {
		t.Fatalf("rejected %v, later %d records; want the first chunk's 100 for later", rejected, len(later))
	}
	if got := ids(mustAll(t, d)); !slices.Equal(got, ids(recs[100:])) {
		t.Fatalf("stored %d records, want the second chunk's 50", len(got))
	}

	w.before = nil // the next run, without the contention
	mustSave(t, d, recs[:100]...)
	if got := mustAll(t, d); len(got) != 150 {
		t.Fatalf("after the next run %d records are stored, want all 150", len(got))
	}
}

// An item DynamoDB refuses for its own sake (ValidationError in the cancellation reasons) fails
// alone: the transaction is sent again without it and the others are written.
func TestDynamoRefusedItemFailsAlone(t *testing.T) {
	w := &wire{}
	d := newTestDynamo(t, w)
	w.before = func(c call) *http.Response {
		if c.op != "TransactWriteItems" || c.nth != 1 {
			return nil
		}
		reasons := []map[string]string{{"Code": "None"}, {"Code": "ValidationError", "Message": "Item size has exceeded the maximum allowed size"}, {"Code": "None"}}
		body, _ := json.Marshal(map[string]any{
			"__type":              "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
			"Message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ValidationError, None]",
			"CancellationReasons": reasons,
		})
		return answer(http.StatusBadRequest, body)
	}
	recs := records("v", 3)
	conflicts, err := d.Save(context.Background(), recs)
	rejected, later := NotWritten(err)
	if len(conflicts) != 0 || !slices.Equal(rejected, []string{"v-0001"}) || len(later) != 0 {
		t.Fatalf("conflicts %v, err %v; want v-0001 rejected alone", conflicts, err)
	}
	if !strings.Contains(err.Error(), "Item size") {
		t.Errorf("error %q does not say why", err)
	}
	if got := ids(mustAll(t, d)); !slices.Equal(got, []string{"v-0000", "v-0002"}) {
		t.Errorf("stored %v, want the other two", got)
	}
}

// Keys that BatchGetItem leaves unprocessed are asked again, consistently, until all are read.
func TestDynamoUnprocessedKeys(t *testing.T) {
	w := &wire{}
	d := newTestDynamo(t, w)
	recs := records("u", 120)
	mustSave(t, d, recs...)
	w.after = func(c call, body []byte) []byte {
		if c.op != "BatchGetItem" || c.nth != 1 {
			return body
		}
		// Keep 10 of the items moto found; hand back the keys of the rest as unprocessed.
		var out struct {
			Responses map[string][]map[string]json.RawMessage
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Errorf("BatchGetItem answer: %v", err)
			return body
		}
		items := out.Responses[d.table]
		var keys []map[string]json.RawMessage
		for _, it := range items[10:] {
			keys = append(keys, map[string]json.RawMessage{keyAttr: it[keyAttr]})
		}
		changed, _ := json.Marshal(map[string]any{
			"Responses":       map[string]any{d.table: items[:10]},
			"UnprocessedKeys": map[string]any{d.table: map[string]any{"Keys": keys, "ConsistentRead": true}},
		})
		return changed
	}
	w.Reset()
	got, err := d.Get(context.Background(), ids(recs))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if len(got) != 120 {
		t.Fatalf("Get = %d records, want 120", len(got))
	}
	calls := w.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3 (100 keys, their 90 unprocessed, the last 20)", len(calls))
	}
	for _, c := range calls {
		if c.op != "BatchGetItem" || !bytes.Contains(c.body, []byte(`"ConsistentRead":true`)) {
			t.Errorf("call %s without ConsistentRead: %.200s", c.op, c.body)
		}
	}
	if n := strings.Count(string(calls[1].body), `"`+keyAttr+`"`); n != 90 {
		t.Errorf("the retry asked for %d keys, want the 90 unprocessed", n)
	}
}
