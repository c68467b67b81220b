package monitor

import (
	"context"
	"errors"
	"fmt"

	"github.com/phonewatch/phonewatch/internal/status"
)

// invalidRecord says why a stored record is not one phonewatch can decide on, nil if it is:
// a store could not read it, or the domain cannot trust it, or it has no version although a
// stored record always has one (every save would conflict, silently, forever).
func (r *run) invalidRecord(rec *status.Record) error {
	switch {
	case rec.Invalid != "":
		return errors.New(rec.Invalid)
	case rec.Version < 1:
		return fmt.Errorf("version %d: a stored record has version 1 or more", rec.Version)
	}
	return rec.Check(r.now())
}

// reportInvalid is one named summary error per run for a record not in our format: the
// number is neither decided nor written, and the others go on.
func (r *run) reportInvalid(ctx context.Context, id string, reason error) {
	r.sum.InvalidRecords++
	r.log().ErrorContext(ctx, "record not in phonewatch's format; the number is skipped", "phoneNumberId", id,
		"error", reason)
	// The reason says what is wrong; the record is left exactly as it is, since it may be fine
	// and only read with the wrong clock or by an older phonewatch: never advise deleting it.
	r.addError(id, fmt.Errorf("stored record not in phonewatch's format, the number is not checked while that "+
		"holds (the record is left as it is): %w", reason))
}
