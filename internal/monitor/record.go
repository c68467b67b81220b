package monitor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// What the monitor needs of a record beyond status.Decide. Each helper stands in for a
// status method being written at the same time ((*Record).Check, NoteAttempted,
// WasAttempted, MarkSent dropping the ID from Attempted, Decide setting Notification.ID and
// keeping Observation.Operation/Release); each does no more than that method will, so the
// switch at merge changes no behaviour here.

// invalidRecord says why a stored record is not one phonewatch can decide on, nil if it is.
func (r *run) invalidRecord(rec *status.Record) error {
	if rec.Invalid != "" {
		return errors.New(rec.Invalid)
	}
	return checkRecord(rec, r.now())
}

// checkRecord is the minimal (*status.Record).Check: what makes every save of the record
// conflict or fail, or its decision meaningless.
func checkRecord(rec *status.Record, _ time.Time) error {
	switch {
	case rec.ID == "":
		return errors.New("no phoneNumberId")
	case rec.Version < 1:
		return fmt.Errorf("version %d: a stored record has version 1 or more", rec.Version)
	case rec.Status != "" && !slices.Contains([]status.Status{status.Claimed, status.InProgress, status.Failed,
		status.NotFound}, rec.Status):
		return fmt.Errorf("status %s unknown", status.Quote(string(rec.Status), 40))
	case rec.Episode != nil && rec.Episode.Deadline.IsZero():
		return errors.New("episode without retryDeadline")
	}
	return nil
}

// reportInvalid is one named summary error per run for a record not in our format: the
// number is neither decided nor written, and the others go on.
func (r *run) reportInvalid(ctx context.Context, id string, reason error) {
	r.sum.InvalidRecords++
	r.log().ErrorContext(ctx, "record not in phonewatch's format; the number is skipped", "phoneNumberId", id,
		"error", reason)
	r.addError(id, fmt.Errorf("stored record not in phonewatch's format, the number is not checked until it "+
		"is fixed or deleted: %w", reason))
}

// keepOperations stores in the next record the operations the observation carried, where
// Decide did not already: the next run then knows them and does not count the number as
// touched again.
func keepOperations(next *status.Record, o status.Observation) {
	if o.Operation.Newer(next.Operation) {
		op := *o.Operation
		next.Operation = &op
	}
	if o.Release.Newer(next.Release) && o.Release.Newer(next.Operation) {
		rel := *o.Release
		next.Release = &rel
	}
}

// ensureIDs gives every notification its notificationId where Decide has not: stable for one
// notification (number, event, episode or spell, reminder offset) across runs, so that a
// repeat is known as one.
func ensureIDs(ns []status.Notification) {
	for i := range ns {
		if ns[i].ID != "" {
			continue
		}
		n := &ns[i]
		key := strings.Join([]string{n.Number.ID, string(n.Event), n.FailedSince.UTC().Format(time.RFC3339Nano),
			n.InProgressSince.UTC().Format(time.RFC3339Nano), strconv.FormatInt(int64(n.Reminder), 10)}, "|")
		sum := sha256.Sum256([]byte(key))
		n.ID = hex.EncodeToString(sum[:12])
	}
}

// keepOwed narrows a record's Attempted to the notifications this decision still owes: an
// attempt whose notification is no longer due is over.
func keepOwed(attempted []string, ns []status.Notification) []string {
	var out []string
	for _, id := range attempted {
		if slices.ContainsFunc(ns, func(n status.Notification) bool { return n.ID == id }) {
			out = append(out, id)
		}
	}
	return out
}

// noteAttempted records in rec that notification id is about to be published.
func noteAttempted(rec *status.Record, id string) {
	if !slices.Contains(rec.Attempted, id) {
		rec.Attempted = append(slices.Clone(rec.Attempted), id)
	}
}

// wasAttempted reports whether rec holds id as published by an earlier run, maybe delivered.
func wasAttempted(rec *status.Record, id string) bool {
	return rec != nil && slices.Contains(rec.Attempted, id)
}

// dropAttempted forgets an attempt that definitely delivered nothing.
func dropAttempted(rec *status.Record, id string) {
	rec.Attempted = slices.DeleteFunc(slices.Clone(rec.Attempted), func(a string) bool { return a == id })
	if len(rec.Attempted) == 0 {
		rec.Attempted = nil
	}
}

// markSent marks n delivered and its attempt over.
func markSent(rec *status.Record, n status.Notification) {
	rec.MarkSent(n)
	dropAttempted(rec, n.ID)
}
