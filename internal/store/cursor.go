package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The cursor item (key cursorKey) holds the cursor as Unix nanoseconds (N, which DynamoDB
// compares as a number: RFC 3339 strings with trimmed fractions do not sort by time) and, for
// people reading the table, as an RFC 3339 string.
const (
	cursorAttr     = "cursor"
	cursorTimeAttr = "cursorTime"
)

// Cursor returns the stored end of the CloudTrail events read so far; zero when none is stored.
func (d *Dynamo) Cursor(ctx context.Context) (time.Time, error) {
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            key(cursorKey),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read the CloudTrail cursor from table %s: %w", d.table, err)
	}
	if out.Item == nil {
		return time.Time{}, nil
	}
	v, ok := out.Item[cursorAttr].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, fmt.Errorf("table %s: %s.%s is %s, want a number (delete the item to start over)",
			d.table, cursorKey, cursorAttr, describe(out.Item[cursorAttr]))
	}
	return fromNanos(v.Value)
}

// SetCursor stores t if it is later than the stored cursor, with a conditional write: of two
// runs that race, the later cursor wins, and the other's lost condition is not an error.
func (d *Dynamo) SetCursor(ctx context.Context, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	_, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(d.table),
		Key:                      key(cursorKey),
		UpdateExpression:         aws.String("SET #c = :c, #t = :t"),
		ConditionExpression:      aws.String("attribute_not_exists(#c) OR #c < :c"),
		ExpressionAttributeNames: map[string]string{"#c": cursorAttr, "#t": cursorTimeAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":c": &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixNano(), 10)},
			":t": &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)},
		},
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("store the CloudTrail cursor in table %s: %w", d.table, err)
	}
	return nil
}

// fromNanos reads a cursor stored as Unix nanoseconds.
func fromNanos(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("the CloudTrail cursor %q is not a time in Unix nanoseconds (delete it to start over)", s)
	}
	return time.Unix(0, n).UTC(), nil
}

// fileCursor is the cursor entry of the state file, under cursorKey.
type fileCursor struct {
	ID     string    `json:"phoneNumberId"`
	Cursor time.Time `json:"cursor"`
}

// Cursor returns the stored end of the CloudTrail events read so far; zero when none is stored.
func (f *File) Cursor(ctx context.Context) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return time.Time{}, err
	}
	return f.cursor(m)
}

// cursor decodes the cursor entry of m.
func (f *File) cursor(m map[string]json.RawMessage) (time.Time, error) {
	raw, ok := m[cursorKey]
	if !ok {
		return time.Time{}, nil
	}
	var c fileCursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return time.Time{}, fmt.Errorf("state file %s: the CloudTrail cursor (%s) is unreadable (fix or remove it): %w",
			f.path, cursorKey, err)
	}
	return c.Cursor, nil
}

// SetCursor stores t if it is later than the stored cursor. Calls in one process are
// serialized; as for records, two processes sharing one file are not locked.
func (f *File) SetCursor(ctx context.Context, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return err
	}
	stored, err := f.cursor(m)
	if err != nil {
		return err
	}
	if !t.After(stored) {
		return nil
	}
	raw, err := json.Marshal(fileCursor{ID: cursorKey, Cursor: t.UTC()})
	if err != nil {
		return fmt.Errorf("encode the CloudTrail cursor: %w", err)
	}
	m[cursorKey] = raw
	return f.write(m)
}
