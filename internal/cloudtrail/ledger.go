package cloudtrail

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/phonewatch/phonewatch/internal/budget"
	"github.com/phonewatch/phonewatch/internal/status"
)

// Accepted reads the calls named name (ClaimPhoneNumber or ReleasePhoneNumber) that Connect
// accepted, with an event time in [from, to], for the claim/release budget's ledger: every
// number's, watched or not. It reads newest first, at most maxPages pages, through the
// Reader's pacing (one LookupEvents quota with every other lookup). complete reports that the
// range was read to its start; when not (the page limit, or an error), down is the oldest
// event time it read (to when none), so that a later call can go on with [from, down]: CloudTrail's
// times are whole seconds and both ends inclusive, so an event at down is read again, and
// the ledger holds it once by event ID.
func (r *Reader) Accepted(ctx context.Context, name string, from, to time.Time, maxPages int) ([]budget.Entry, bool, time.Time, error) {
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{
			AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(name),
		}},
		StartTime:  aws.Time(from),
		EndTime:    aws.Time(to),
		MaxResults: aws.Int32(pageSize),
	}
	p := cloudtrail.NewLookupEventsPaginator(r.client, in, func(o *cloudtrail.LookupEventsPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	var out []budget.Entry
	down := to
	for pages := 0; p.HasMorePages(); pages++ {
		if pages >= max(maxPages, 1) {
			return out, false, down, nil
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, false, down, fmt.Errorf("read %s calls for the ledger: %w", name, lookupError(err))
		}
		for _, ev := range page.Events {
			e := entryOf(ev)
			if !e.EventTime.IsZero() && e.EventTime.Before(down) {
				down = e.EventTime
			}
			if entry, ok := r.ledgerEntry(e, name); ok {
				out = append(out, entry)
			}
		}
	}
	return out, true, down, nil
}

// ledgerEntry is the ledger's line for e when it is an accepted call named name.
func (r *Reader) ledgerEntry(e entry, name string) (budget.Entry, bool) {
	op, what, err := parseRecord(e)
	if err != nil {
		r.malformed.Add(1)
	}
	if err != nil || what != kept || op.Name != name {
		return budget.Entry{}, false
	}
	return entryFor(op), true
}

// entryFor is op as a ledger entry.
func entryFor(op status.Operation) budget.Entry {
	return budget.Entry{
		EventID: op.EventID, Name: op.Name, At: op.At, By: op.By,
		Number: cmp.Or(op.PhoneNumberID, op.PhoneNumberARN, op.E164),
	}
}

// Accepted returns the file's accepted calls named name in [from, to]: a file is read whole,
// so the range is always complete.
func (f *File) Accepted(ctx context.Context, name string, from, to time.Time, _ int) ([]budget.Entry, bool, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, to, err
	}
	var out []budget.Entry
	for _, op := range f.ops {
		if op.Name == name && !op.At.Before(from) && !op.At.After(to) {
			out = append(out, entryFor(op))
		}
	}
	return out, true, from, nil
}
