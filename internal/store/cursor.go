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

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
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
// runs that race, the later cursor wins, and the other's lost condition is not an error. A
// stored cursor that is not a time, or lies in the future (see badCursor), fails that
// condition for ever: it is replaced by t once, and the error wraps monitor.ErrCursorReplaced.
func (d *Dynamo) SetCursor(ctx context.Context, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	// The type test comes first: DynamoDB finds a comparison of a number with a string
	// false, moto_server fails on it.
	err := d.putCursor(ctx, t, "attribute_not_exists(#c) OR (attribute_type(#c, :n) AND #c >= :zero AND #c < :c)", nil)
	var failed *types.ConditionalCheckFailedException
	if err == nil || !errors.As(err, &failed) {
		return err
	}
	// A later cursor (another run's), or a bad one: read it to tell.
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(d.table), Key: key(cursorKey), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("read the CloudTrail cursor from table %s: %w", d.table, err)
	}
	old := out.Item[cursorAttr]
	why := badCursor(old, t)
	if why == "" {
		return nil
	}
	// Replace exactly what was read: should another run heal it first, its cursor stands.
	err = d.putCursor(ctx, t, "#c = :old", old)
	if errors.As(err, &failed) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: table %s: %s.%s was %s, %s; replaced by %s", monitor.ErrCursorReplaced, d.table,
		cursorKey, cursorAttr, describe(old), why, t.UTC().Format(time.RFC3339))
}

// putCursor writes t as the cursor under condition cond (old, when not nil, is its :old).
func (d *Dynamo) putCursor(ctx context.Context, t time.Time, cond string, old types.AttributeValue) error {
	values := map[string]types.AttributeValue{
		":c": &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixNano(), 10)},
		":t": &types.AttributeValueMemberS{Value: t.UTC().Format(time.RFC3339Nano)},
	}
	if old != nil {
		values[":old"] = old
	} else {
		values[":n"] = &types.AttributeValueMemberS{Value: "N"}
		values[":zero"] = &types.AttributeValueMemberN{Value: "0"}
	}
	_, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       key(cursorKey),
		UpdateExpression:          aws.String("SET #c = :c, #t = :t"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#c": cursorAttr, "#t": cursorTimeAttr},
		ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("store the CloudTrail cursor in table %s: %w", d.table, err)
	}
	return err
}

// badCursor says why a stored cursor v cannot stand beside a new cursor t ("" when it can: a
// later cursor another run stored): it is not a time in Unix nanoseconds (a hand edit, a bug),
// or it lies more than status.MaxSkew after t, later than any host's clock can be (a clock far
// ahead, a hand edit), which would hold every later cursor back for ever.
func badCursor(v types.AttributeValue, t time.Time) string {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return "not a number"
	}
	c, err := fromNanos(n.Value)
	if err != nil {
		return "not a time in Unix nanoseconds"
	}
	if c.After(t.Add(status.MaxSkew)) {
		return fmt.Sprintf("%s, in the future", c.Format(time.RFC3339))
	}
	return ""
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
	// A cursor that is not a time, or lies in the future, is replaced once (see badCursor).
	var replaced error
	switch stored, err := f.cursor(m); {
	case err != nil:
		replaced = fmt.Errorf("%w: %w; replaced by %s", monitor.ErrCursorReplaced, err, t.UTC().Format(time.RFC3339))
	case stored.After(t.Add(status.MaxSkew)):
		replaced = fmt.Errorf("%w: state file %s: the CloudTrail cursor (%s) was %s, in the future; replaced by %s",
			monitor.ErrCursorReplaced, f.path, cursorKey, stored.Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	case !t.After(stored):
		return nil
	}
	raw, err := json.Marshal(fileCursor{ID: cursorKey, Cursor: t.UTC()})
	if err != nil {
		return fmt.Errorf("encode the CloudTrail cursor: %w", err)
	}
	m[cursorKey] = raw
	if err := f.write(m); err != nil {
		return err
	}
	return replaced
}
