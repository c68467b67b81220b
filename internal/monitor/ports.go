package monitor

import (
	"context"

	"github.com/phonewatch/phonewatch/internal/status"
)

// Source reads Amazon Connect.
type Source interface {
	// List returns the numbers of each target ARN (instance or traffic distribution group), or
	// of the whole account and Region when targets is empty. Summaries carry no status.
	List(ctx context.Context, targets []string) ([]status.Number, error)
	// Describe returns one number's summary, by ARN or ID (ARN where known: a traffic
	// distribution group's number is found from its other Region only by ARN). An error
	// wrapping status.ErrNotFound means Connect no longer knows the number.
	Describe(ctx context.Context, idOrARN string) (*status.Summary, error)
}

// Store keeps one status.Record per number between runs.
type Store interface {
	// All returns every record.
	All(ctx context.Context) ([]status.Record, error)
	// Get returns the records of these IDs that exist.
	Get(ctx context.Context, ids []string) ([]status.Record, error)
	// Save writes each record only if the stored one still has the record's Version (0: none
	// stored yet), storing it with Version+1. It returns the IDs whose condition failed
	// (another run got there first); those records are not written.
	Save(ctx context.Context, recs []status.Record) (conflicts []string, err error)
}

// Publisher delivers notifications.
type Publisher interface {
	// Publish sends each notification and returns one error per notification, in order: nil
	// means the topic accepted it.
	Publish(ctx context.Context, ns []status.Notification) []error
}
