package monitor

import (
	"context"
	"errors"
	"time"

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

// Operations reads Connect phone-number operations from CloudTrail's event history.
type Operations interface {
	// Lookup returns the ClaimPhoneNumber, UpdatePhoneNumber and ReleasePhoneNumber calls with
	// an event time in [from, to), each once (by EventID), calls Connect refused left out,
	// oldest first. It paces itself under CloudTrail's shared quota and stops at ctx's
	// deadline. On an error, the operations read so far come with it (the caller may use
	// them, but must not move its cursor past from).
	Lookup(ctx context.Context, from, to time.Time) ([]status.Operation, error)
}

// Cursor keeps where the operations already read end, under a reserved key of the state store
// that is never a phone number ID and that All never returns.
type Cursor interface {
	// Cursor returns the stored end of the operations read so far; zero when none is stored.
	Cursor(ctx context.Context) (time.Time, error)
	// SetCursor stores t if it is later than the stored cursor (overlapping runs may race: the
	// later cursor wins, and an earlier one only means some events are read again). A stored
	// cursor that is not a time, or lies more than status.MaxSkew after t, would hold the
	// cursor back for ever: it is replaced by t, and the error wraps ErrCursorReplaced, naming
	// what it was.
	SetCursor(ctx context.Context, t time.Time) error
}

// ErrCursorReplaced is what a Cursor's SetCursor returns (wrapped) when it replaced a stored
// cursor that was not a time or lay in the future: the cursor is healed, and the run names it
// in its errors, once.
var ErrCursorReplaced = errors.New("the stored CloudTrail cursor was not usable and was replaced")

// Lease is one lease, kept in the state store, on Connect's shared rate quota: of the runs that
// share a state table (a scheduled run and a check request sent meanwhile), only the holder
// describes, so that together they never ask Connect for more than CONNECT_RPS.
type Lease interface {
	// AcquireLease takes the lease for holder until `until` when it is free at `now` (no
	// holder, the holder's lease ended, or holder already has it); it reports whether it did.
	AcquireLease(ctx context.Context, holder string, until, now time.Time) (bool, error)
	// ReleaseLease gives the lease up if holder has it.
	ReleaseLease(ctx context.Context, holder string) error
}
