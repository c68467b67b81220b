package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The Connect lease (monitor.Lease) is one item under leaseKey: its holder (a run ID) and the
// end of its lease in Unix nanoseconds (N, compared as a number).
const (
	leaseKey         = ReservedPrefix + "connect-lease"
	leaseHolderAttr  = "holder"
	leaseUntilAttr   = "until"
	leaseUntilTimeAt = "untilTime" // for people reading the table
)

// AcquireLease takes the Connect lease for holder until `until` with one conditional write: it
// succeeds when no run holds it, the holder's lease ended before now, or holder has it already.
func (d *Dynamo) AcquireLease(ctx context.Context, holder string, until, now time.Time) (bool, error) {
	_, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(d.table),
		Key:                 key(leaseKey),
		UpdateExpression:    aws.String("SET #h = :h, #u = :u, #t = :t"),
		ConditionExpression: aws.String("attribute_not_exists(#h) OR #h = :h OR #u < :now"),
		ExpressionAttributeNames: map[string]string{
			"#h": leaseHolderAttr, "#u": leaseUntilAttr, "#t": leaseUntilTimeAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":h":   &types.AttributeValueMemberS{Value: holder},
			":u":   &types.AttributeValueMemberN{Value: strconv.FormatInt(until.UnixNano(), 10)},
			":t":   &types.AttributeValueMemberS{Value: until.UTC().Format(time.RFC3339Nano)},
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.UnixNano(), 10)},
		},
	})
	var held *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &held):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("take the Connect lease in table %s: %w", d.table, err)
	}
	return true, nil
}

// ReleaseLease ends holder's Connect lease; a lease another run holds (this one's expired and
// was taken) is left alone.
func (d *Dynamo) ReleaseLease(ctx context.Context, holder string) error {
	// An update, not a delete: the function's role has no dynamodb:DeleteItem.
	_, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(d.table),
		Key:                 key(leaseKey),
		UpdateExpression:    aws.String("REMOVE #h, #u, #t"),
		ConditionExpression: aws.String("#h = :h"),
		ExpressionAttributeNames: map[string]string{
			"#h": leaseHolderAttr, "#u": leaseUntilAttr, "#t": leaseUntilTimeAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": &types.AttributeValueMemberS{Value: holder}},
	})
	var other *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &other) {
		return fmt.Errorf("release the Connect lease in table %s: %w", d.table, err)
	}
	return nil
}
