package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
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

// All returns every record, ordered by ID: a strongly consistent Scan, page by page.
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
			r, err := decode(item)
			if err != nil {
				return nil, fmt.Errorf("scan table %s: %w", d.table, err)
			}
			out = append(out, r)
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
		keys[i] = map[string]types.AttributeValue{keyAttr: &types.AttributeValueMemberS{Value: id}}
	}
	req := map[string]types.KeysAndAttributes{d.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for retry := 0; ; retry++ {
		out, err := d.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return fmt.Errorf("get %d records from table %s: %w", len(ids), d.table, err)
		}
		for _, item := range out.Responses[d.table] {
			r, err := decode(item)
			if err != nil {
				return fmt.Errorf("get from table %s: %w", d.table, err)
			}
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

// Save writes each record only where the stored version is still rec.Version (no item at all
// for version 0), storing Version+1, and returns the IDs whose condition failed. Records go in
// transactions of up to 100 puts, so that a run over many numbers costs a few calls; a
// transaction that a failed condition cancels is sent again without the conflicting records.
//
// On an error, the transactions before the failing one are already written: a caller that
// saves the same records again sees those as conflicts, which is safe (nothing is overwritten).
func (d *Dynamo) Save(ctx context.Context, recs []status.Record) ([]string, error) {
	if err := checkSave(recs); err != nil {
		return nil, fmt.Errorf("save to table %s: %w", d.table, err)
	}
	puts := make([]types.TransactWriteItem, len(recs))
	ids := make([]string, len(recs))
	for i, r := range recs {
		p, err := d.put(r)
		if err != nil {
			return nil, err
		}
		puts[i], ids[i] = types.TransactWriteItem{Put: p}, r.ID
	}
	var conflicts []string
	for start := 0; start < len(puts); start += writeChunk {
		end := min(start+writeChunk, len(puts))
		c, err := d.transact(ctx, puts[start:end], ids[start:end])
		conflicts = append(conflicts, c...)
		if err != nil {
			return conflicts, err
		}
	}
	return conflicts, nil
}

// put is the conditional write of one record, stored with Version+1.
func (d *Dynamo) put(r status.Record) (*types.Put, error) {
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
	p := &types.Put{TableName: aws.String(d.table), Item: item}
	if r.Version == 0 {
		p.ConditionExpression = aws.String("attribute_not_exists(#k)")
		p.ExpressionAttributeNames = map[string]string{"#k": keyAttr}
	} else {
		p.ConditionExpression = aws.String("#v = :v")
		p.ExpressionAttributeNames = map[string]string{"#v": versionAttr}
		p.ExpressionAttributeValues = map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(r.Version, 10)},
		}
	}
	return p, nil
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

// transact writes one chunk of puts in one transaction. When DynamoDB cancels it, each item's
// cancellation reason decides: a failed condition is a conflict and leaves the transaction;
// an item that was fine is sent again; a transient reason (another transaction on the item,
// throttling) sends the rest again after a pause, a few times; any other reason is an error.
func (d *Dynamo) transact(ctx context.Context, puts []types.TransactWriteItem, ids []string) ([]string, error) {
	var conflicts []string
	pending := make([]int, len(puts))
	for i := range pending {
		pending[i] = i
	}
	for retry := 0; ; {
		items := make([]types.TransactWriteItem, len(pending))
		for i, p := range pending {
			items[i] = puts[p]
		}
		// A fresh input each time: the SDK fills in a new ClientRequestToken, which its own
		// retries of this one call then reuse, so a retried success is not seen as a conflict.
		_, err := d.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return conflicts, nil
		}
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) {
			return conflicts, fmt.Errorf("save %d records to table %s: %w", len(items), d.table, err)
		}
		if len(cancelled.CancellationReasons) != len(pending) {
			return conflicts, fmt.Errorf("save to table %s: %d cancellation reasons for %d items: %w",
				d.table, len(cancelled.CancellationReasons), len(pending), err)
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
				return conflicts, fmt.Errorf("save record %s to table %s: %s %s: %w",
					ids[p], d.table, code, aws.ToString(reason.Message), err)
			}
		}
		switch {
		case len(again) == 0:
			return conflicts, nil
		case transient != "":
			if retry == maxRetries {
				return conflicts, fmt.Errorf("save %d records to table %s: still %s after %d retries: %w",
					len(again), d.table, transient, maxRetries, err)
			}
			if err := d.pause(ctx, retry); err != nil {
				return conflicts, fmt.Errorf("save to table %s: %w", d.table, err)
			}
			retry++
		case len(again) == len(pending):
			// Cancelled, yet no item says why: sending the same again would loop forever.
			return conflicts, fmt.Errorf("save %d records to table %s: cancelled without a reason: %w",
				len(again), d.table, err)
		}
		pending = again
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

// decode turns one item into a record, naming the item when it cannot.
func decode(item map[string]types.AttributeValue) (status.Record, error) {
	var r status.Record
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		id := "?"
		if k, ok := item[keyAttr].(*types.AttributeValueMemberS); ok {
			id = k.Value
		}
		return status.Record{}, fmt.Errorf("decode record %s: %w", id, err)
	}
	return r, nil
}
