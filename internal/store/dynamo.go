package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/phonewatch/phonewatch/internal/status"
)

const (
	// keyAttr is the table's partition key (DESIGN.md: STATE_TABLE).
	keyAttr = "phoneNumberId"
	// versionAttr holds status.Record.Version, the optimistic lock.
	versionAttr = "version"
	// ttlAttr is the attribute the table's TTL is enabled on (epoch seconds).
	ttlAttr = "expiresAt"
	// retiredTTL is how long a retired record is kept after its last check before DynamoDB
	// deletes it: long enough to read what happened, short enough not to grow forever.
	retiredTTL = 30 * 24 * time.Hour

	// getChunk and writeChunk are DynamoDB's limits per BatchGetItem and TransactWriteItems.
	getChunk   = 100
	writeChunk = 100
	// maxRetries bounds the retries of unprocessed keys and of transient transaction
	// cancellations (the SDK's own retryer already handled throttling and 5xx of each call).
	maxRetries = 5
)

// Dynamo is a monitor.Store in a DynamoDB table: one item per number, keyed by phoneNumberId,
// with status.Record's fields as native attributes (zero times omitted), `version` as the
// optimistic lock and `expiresAt` as the TTL of retired records.
type Dynamo struct {
	client *dynamodb.Client
	table  string
	// retryBase is the first pause before a retry of unprocessed keys or a transient
	// cancellation; it doubles with each retry.
	retryBase time.Duration
}

// NewDynamo returns a store in table, reached through client.
func NewDynamo(client *dynamodb.Client, table string) *Dynamo {
	return &Dynamo{client: client, table: table, retryBase: 50 * time.Millisecond}
}

// encodeOptions write times as RFC 3339 UTC strings with nanoseconds, and leave zero times
// out: without OmitEmptyTime, `omitempty` keeps a zero time.Time as "0001-01-01T00:00:00Z".
func encodeOptions(o *attributevalue.EncoderOptions) {
	o.OmitEmptyTime = true
	o.EncodeTime = func(t time.Time) (types.AttributeValue, error) {
		return &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)}, nil
	}
}

// All returns every record, ordered by ID: a strongly consistent Scan, page by page. An item
// that is not a valid record comes back Invalid; the store's own keys are left out.
func (d *Dynamo) All(ctx context.Context) ([]status.Record, error) {
	p := dynamodb.NewScanPaginator(d.client, &dynamodb.ScanInput{
		TableName:      aws.String(d.table),
		ConsistentRead: aws.Bool(true),
	})
	var out []status.Record
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan table %s: %w", d.table, err)
		}
		for _, item := range page.Items {
			if k, ok := item[keyAttr].(*types.AttributeValueMemberS); ok && reserved(k.Value) {
				continue
			}
			out = append(out, decode(item))
		}
	}
	sortByID(out)
	return out, nil
}

// Get returns the records of these IDs that exist, in the order asked, each once: strongly
// consistent BatchGetItem calls of up to 100 keys, retrying the keys DynamoDB left unprocessed.
func (d *Dynamo) Get(ctx context.Context, ids []string) ([]status.Record, error) {
	ids, err := uniqueIDs(ids)
	if err != nil {
		return nil, err
	}
	found := make(map[string]status.Record, len(ids))
	for chunk := range slices.Chunk(ids, getChunk) {
		if err := d.getChunk(ctx, chunk, found); err != nil {
			return nil, err
		}
	}
	return inOrder(ids, found), nil
}

// getChunk reads up to 100 IDs into found.
func (d *Dynamo) getChunk(ctx context.Context, ids []string, found map[string]status.Record) error {
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = key(id)
	}
	req := map[string]types.KeysAndAttributes{d.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for retry := 0; ; retry++ {
		out, err := d.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return fmt.Errorf("get %d records from table %s: %w", len(ids), d.table, err)
		}
		for _, item := range out.Responses[d.table] {
			r := decode(item)
			found[r.ID] = r
		}
		left := out.UnprocessedKeys[d.table]
		if len(left.Keys) == 0 {
			return nil
		}
		if retry == maxRetries {
			return fmt.Errorf("get from table %s: %d keys still unprocessed after %d retries",
				d.table, len(left.Keys), maxRetries)
		}
		if err := d.pause(ctx, retry); err != nil {
			return fmt.Errorf("get from table %s: %w", d.table, err)
		}
		req = map[string]types.KeysAndAttributes{d.table: left}
	}
}

// key is the primary key of the item of id.
func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{keyAttr: &types.AttributeValueMemberS{Value: id}}
}

// Save writes each record only where the stored version is still rec.Version (no item at all
// for version 0), storing Version+1, and returns the IDs whose condition failed. Records go in
// transactions of up to 100 updates, so that a run over many numbers costs a few calls; a
// transaction that a failed condition cancels is sent again without the conflicting records.
// Each write is an Update that sets the attributes this code knows and removes those of them
// the record leaves empty, so that attributes a newer version wrote survive.
//
// A record that breaks the rules (see screen), or a transaction still cancelled by conflicts
// after the retries, fails in a *NotWrittenError while the others are written. On another
// error, the transactions before the failing one are already written: a caller that saves the
// same records again sees those as conflicts, which is safe (nothing is overwritten).
func (d *Dynamo) Save(ctx context.Context, recs []status.Record) ([]string, error) {
	good, errs, err := screen(recs)
	if err != nil {
		return nil, fmt.Errorf("save to table %s: %w", d.table, err)
	}
	var writes []types.TransactWriteItem
	var ids []string
	for _, r := range good {
		u, err := d.update(r)
		if err != nil {
			errs = append(errs, &NotWrittenError{IDs: []string{r.ID}, Rejected: true, Err: err})
			continue
		}
		writes, ids = append(writes, types.TransactWriteItem{Update: u}), append(ids, r.ID)
	}
	var conflicts []string
	for start := 0; start < len(writes); start += writeChunk {
		end := min(start+writeChunk, len(writes))
		c, err := d.transact(ctx, writes[start:end], ids[start:end])
		conflicts = append(conflicts, c...)
		var nw *NotWrittenError
		switch {
		case errors.As(err, &nw):
			errs = append(errs, err) // known unwritten: the next chunks may still go through
		case err != nil:
			return conflicts, errors.Join(append(errs, err)...)
		}
	}
	return conflicts, errors.Join(errs...)
}

// item is the record as stored after a successful write: Version+1, and the TTL of a retired
// record.
func (d *Dynamo) item(r status.Record) (map[string]types.AttributeValue, error) {
	next := r
	next.Version++
	item, err := attributevalue.MarshalMapWithOptions(next, encodeOptions)
	if err != nil {
		return nil, fmt.Errorf("encode record %s: %w", r.ID, err)
	}
	if r.Retired() && !r.CheckedAt.IsZero() {
		expires := r.CheckedAt.Add(retiredTTL).Unix()
		item[ttlAttr] = &types.AttributeValueMemberN{Value: strconv.FormatInt(expires, 10)}
	}
	return item, nil
}

// knownAttrs are the attributes this code writes; any other attribute is a newer version's.
// retiredAttrs are known too, so that every write removes them.
var knownAttrs = append(append(recordAttrs("dynamodbav"), ttlAttr), retiredAttrs...)

// retiredAttrs are attributes earlier versions wrote and this one no longer does: "repeated"
// held the one repeat of issue 13's delivery policy, which issue 18 replaced (a notification is
// sent until SNS confirms it).
var retiredAttrs = []string{"repeated"}

// update is the conditional write of one record, stored with Version+1: SET every attribute
// it has, REMOVE every known one it leaves empty, and nothing else.
func (d *Dynamo) update(r status.Record) (*types.Update, error) {
	item, err := d.item(r)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var set, remove []string
	for i, name := range knownAttrs {
		if name == keyAttr {
			continue
		}
		ph := "#a" + strconv.Itoa(i)
		names[ph] = name
		if v, ok := item[name]; ok {
			values[":a"+strconv.Itoa(i)] = v
			set = append(set, ph+" = :a"+strconv.Itoa(i))
		} else {
			remove = append(remove, ph)
		}
	}
	expr := "SET " + strings.Join(set, ", ") // version is always set
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	u := &types.Update{
		TableName:                 aws.String(d.table),
		Key:                       key(r.ID),
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
	if r.Version == 0 {
		u.ConditionExpression = aws.String("attribute_not_exists(#k)")
		names["#k"] = keyAttr
	} else {
		u.ConditionExpression = aws.String("#v = :v")
		names["#v"] = versionAttr
		values[":v"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(r.Version, 10)}
	}
	return u, nil
}

// Cancellation reason codes of TransactWriteItems (see types.TransactionCanceledException).
const (
	reasonNone              = "None"
	reasonConditionalCheck  = "ConditionalCheckFailed"
	reasonConflict          = "TransactionConflict"
	reasonThrottling        = "ThrottlingError"
	reasonProvisioned       = "ProvisionedThroughputExceeded"
	reasonRequestLimitError = "RequestLimitExceeded"
)

// transact writes one chunk of updates in one transaction. When DynamoDB cancels it, each
// item's cancellation reason decides: a failed condition is a conflict and leaves the
// transaction; an item refused for its own sake (a ValidationError: too large, say) fails alone
// and leaves it too; an item that was fine is sent again; a transient reason (another
// transaction on the item, throttling) sends the rest again after a pause, a few times.
//
// A cancelled transaction writes nothing, so what is still pending when the retries run out is
// known unwritten: a *NotWrittenError that a later save (the next run) may retry. The
// notifications those records carry are delayed, never lost. Any other error leaves the chunk
// in doubt and is returned as it is.
func (d *Dynamo) transact(ctx context.Context, writes []types.TransactWriteItem, ids []string) ([]string, error) {
	var conflicts []string
	var refused []error
	pending := make([]int, len(writes))
	for i := range pending {
		pending[i] = i
	}
	unwritten := func(why error) error {
		left := make([]string, len(pending))
		for i, p := range pending {
			left[i] = ids[p]
		}
		return errors.Join(append(refused, &NotWrittenError{IDs: left, Err: why})...)
	}
	for retry := 0; ; {
		items := make([]types.TransactWriteItem, len(pending))
		for i, p := range pending {
			items[i] = writes[p]
		}
		// A fresh input each time: the SDK fills in a new ClientRequestToken, which its own
		// retries of this one call then reuse, so a retried success is not seen as a conflict.
		_, err := d.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return conflicts, errors.Join(refused...)
		}
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) {
			return conflicts, errors.Join(append(refused,
				fmt.Errorf("save %d records to table %s: %w", len(items), d.table, err))...)
		}
		if len(cancelled.CancellationReasons) != len(pending) {
			return conflicts, unwritten(fmt.Errorf("table %s: transaction cancelled with %d reasons for %d items: %w",
				d.table, len(cancelled.CancellationReasons), len(pending), err))
		}
		var again []int
		transient := ""
		for i, reason := range cancelled.CancellationReasons {
			p := pending[i]
			switch code := aws.ToString(reason.Code); code {
			case reasonNone, "":
				again = append(again, p)
			case reasonConditionalCheck:
				conflicts = append(conflicts, ids[p])
			case reasonConflict, reasonThrottling, reasonProvisioned, reasonRequestLimitError:
				again = append(again, p)
				transient = code
			default:
				refused = append(refused, &NotWrittenError{IDs: []string{ids[p]}, Rejected: true,
					Err: fmt.Errorf("table %s refused it: %s %s", d.table, code, aws.ToString(reason.Message))})
			}
		}
		stuck := len(again) == len(pending) && transient == "" // no item says why: never loop
		pending = again
		switch {
		case len(pending) == 0:
			return conflicts, errors.Join(refused...)
		case stuck:
			return conflicts, unwritten(fmt.Errorf("table %s: transaction cancelled without a reason: %w", d.table, err))
		case transient == "":
			continue // only conflicts and refusals left it: the rest goes at once
		case retry == maxRetries:
			return conflicts, unwritten(fmt.Errorf("table %s: transaction still cancelled (%s) after %d retries: %w",
				d.table, transient, maxRetries, err))
		}
		if perr := d.pause(ctx, retry); perr != nil {
			return conflicts, unwritten(fmt.Errorf("table %s: transaction cancelled (%s), no time to retry: %w",
				d.table, transient, perr))
		}
		retry++
	}
}

// pause waits before retry number n (from 0): retryBase doubled n times, with jitter so that
// runs that collided do not collide again in step.
func (d *Dynamo) pause(ctx context.Context, n int) error {
	wait := d.retryBase << n
	wait = wait/2 + rand.N(wait/2+1) //nolint:gosec // G404: backoff jitter needs no cryptographic randomness
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// decode turns one item into a record, or into an Invalid one naming the attribute that breaks
// it: one bad item must not stop the others.
func decode(item map[string]types.AttributeValue) status.Record {
	k, ok := item[keyAttr].(*types.AttributeValueMemberS)
	if !ok {
		return invalid("?", "%s is %s, want a string", keyAttr, describe(item[keyAttr]))
	}
	id := k.Value
	switch v, ok := item[versionAttr].(*types.AttributeValueMemberN); {
	case item[versionAttr] == nil:
		return invalid(id, "no %s attribute", versionAttr)
	case !ok:
		return invalid(id, "%s is %s, want a number", versionAttr, describe(item[versionAttr]))
	default:
		if _, err := strconv.ParseInt(v.Value, 10, 64); err != nil {
			return invalid(id, "%s is %s, want a whole number", versionAttr, describe(v))
		}
	}
	var r status.Record
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return invalid(id, "%s", culprit(item, err))
	}
	if why := checkRead(r); why != "" {
		return invalid(id, "%s", why)
	}
	return r
}

// culprit names the attribute that made item fail to decode with err, by decoding each
// attribute alone (the decoder's errors name a Go type, not the attribute).
func culprit(item map[string]types.AttributeValue, err error) string {
	names := make([]string, 0, len(item))
	for name := range item {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		var r status.Record
		if e := attributevalue.UnmarshalMap(map[string]types.AttributeValue{name: item[name]}, &r); e != nil {
			return fmt.Sprintf("%s is %s: %v", name, describe(item[name]), e)
		}
	}
	return fmt.Sprintf("cannot decode: %v", err)
}

// describe shows an attribute value briefly, with its DynamoDB type, for a reason.
func describe(v types.AttributeValue) string {
	const most = 60
	short := func(s string) string {
		if len(s) > most {
			return s[:most] + "…"
		}
		return s
	}
	switch v := v.(type) {
	case nil:
		return "missing"
	case *types.AttributeValueMemberS:
		return fmt.Sprintf("S %q", short(v.Value))
	case *types.AttributeValueMemberN:
		return "N " + short(v.Value)
	case *types.AttributeValueMemberBOOL:
		return "BOOL " + strconv.FormatBool(v.Value)
	case *types.AttributeValueMemberM:
		return fmt.Sprintf("a map of %d", len(v.Value))
	case *types.AttributeValueMemberL:
		return fmt.Sprintf("a list of %d", len(v.Value))
	case *types.AttributeValueMemberNULL:
		return "NULL"
	default:
		return fmt.Sprintf("%T", v)
	}
}
