// Package store keeps phonewatch's per-number state between runs: in DynamoDB under Lambda, and
// in one JSON file for local runs. Both implement monitor.Store with the same optimistic
// versions, so that two runs that overlap never overwrite each other's record unseen, and
// monitor.Cursor, the end of the CloudTrail events already read.
//
// State is written by hand, by bugs and by other versions of phonewatch, so both stores read
// defensively and write conservatively:
//   - Each record is checked as it is read. One that cannot be decoded or breaks the record's
//     rules (no version, a version that is not a whole number or is negative, a time that is not
//     a time, an unknown status or basis) comes back as a status.Record with only its ID and
//     Invalid (the reason, naming the attribute and its value); it never fails the others.
//   - A write changes only the attributes this code knows: those a newer version added are
//     kept (top-level ones; a newer field inside a nested map is lost with the map's rewrite).
//   - A record Save cannot write (negative version, Invalid set, a reserved ID) fails alone: its
//     ID comes back in a *NotWrittenError and the others are written.
//   - Keys starting with ReservedPrefix are the store's own (the CloudTrail cursor): never a
//     phone number ID (Connect's are UUIDs), never returned by All, refused by Get and Save.
package store

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/phonewatch/phonewatch/internal/status"
)

// ReservedPrefix starts every key the store keeps for itself rather than for a number.
const ReservedPrefix = "#"

// cursorKey holds the CloudTrail cursor (monitor.Cursor).
const cursorKey = ReservedPrefix + "cloudtrail-cursor"

// ErrDuplicateID is returned (wrapped) by Save when one call holds two records of one number:
// which of them should win is the caller's bug to fix, not the store's to guess.
var ErrDuplicateID = errors.New("duplicate phone number ID")

// ErrNotWritten is wrapped by every *NotWrittenError.
var ErrNotWritten = errors.New("not written")

// errEmptyID is returned (wrapped) for a record or lookup without a phone number ID.
var errEmptyID = errors.New("empty phone number ID")

// errReservedID is returned (wrapped) for an ID that is one of the store's own keys.
var errReservedID = errors.New("reserved key, not a phone number ID (starts with " + ReservedPrefix + ")")

// NotWrittenError names records that Save knows it did not write, and why. Records a Save
// names neither here nor as conflicts were written, unless its error also holds another error
// (then they are in doubt: read them back). Save's error may join several of these; use
// NotWritten to collect them.
type NotWrittenError struct {
	IDs []string
	// Rejected means the records break the store's rules and will be refused again as they
	// are. Otherwise the failure was transient (transaction conflicts past the retries): a later
	// Save of them may succeed, so a notification they carry is delayed, never lost.
	Rejected bool
	Err      error
}

func (e *NotWrittenError) Error() string {
	const shown = 3
	names := strings.Join(e.IDs[:min(shown, len(e.IDs))], ", ")
	if len(e.IDs) > shown {
		names += fmt.Sprintf(" and %d more", len(e.IDs)-shown)
	}
	what := "record"
	if len(e.IDs) != 1 {
		what = "records"
	}
	if e.Rejected {
		return fmt.Sprintf("%s %s not written (rejected): %v", what, names, e.Err)
	}
	return fmt.Sprintf("%s %s not written (a later save may write them: delayed, not lost): %v", what, names, e.Err)
}

// Unwrap lets errors.Is find ErrNotWritten and the cause.
func (e *NotWrittenError) Unwrap() []error { return []error{ErrNotWritten, e.Err} }

// NotWritten collects the IDs of every *NotWrittenError in err (joined errors included): those
// rejected, and those a later Save may write.
func NotWritten(err error) (rejected, later []string) {
	var walk func(error)
	walk = func(err error) {
		var nw *NotWrittenError
		switch u := err.(type) { //nolint:errorlint // walking the tree by hand: errors.As stops at the first
		case *NotWrittenError:
			nw = u
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
		if nw == nil {
			return
		}
		if nw.Rejected {
			rejected = append(rejected, nw.IDs...)
		} else {
			later = append(later, nw.IDs...)
		}
	}
	if err != nil {
		walk(err)
	}
	return rejected, later
}

// reserved reports whether id is one of the store's own keys.
func reserved(id string) bool { return strings.HasPrefix(id, ReservedPrefix) }

// screen splits a Save into the records to write and the errors of those it must refuse. A
// call without an ID or with two records of one number is refused whole (err): the first
// cannot be attributed, the second is ambiguous. Every other rule refuses one record alone.
func screen(recs []status.Record) (ok []status.Record, refused []error, err error) {
	seen := make(map[string]bool, len(recs))
	for i, r := range recs {
		switch {
		case r.ID == "":
			return nil, nil, fmt.Errorf("record %d: %w", i, errEmptyID)
		case seen[r.ID]:
			return nil, nil, fmt.Errorf("record %s: %w", r.ID, ErrDuplicateID)
		}
		seen[r.ID] = true
	}
	for _, r := range recs {
		if why := unwritable(r); why != nil {
			refused = append(refused, &NotWrittenError{IDs: []string{r.ID}, Rejected: true, Err: why})
			continue
		}
		ok = append(ok, r)
	}
	return ok, refused, nil
}

// unwritable says why the store must not write r, or nil.
func unwritable(r status.Record) error {
	switch {
	case reserved(r.ID):
		return errReservedID
	case r.Invalid != "":
		return fmt.Errorf("the record was read as invalid (%s): it is not written back", r.Invalid)
	case r.Version < 0:
		return fmt.Errorf("negative version %d", r.Version)
	}
	return nil
}

// checkRead says what breaks a decoded record's rules, or "" when nothing does. Rules the
// decoder itself enforces (types, times) are found where the record is decoded.
func checkRead(r status.Record) string {
	switch {
	case r.Version < 0:
		return fmt.Sprintf("version %d is negative", r.Version)
	case r.Status != "" && !slices.Contains(knownStatuses, r.Status):
		return fmt.Sprintf("status %q is not one of %v", r.Status, knownStatuses)
	case r.Episode != nil && !slices.Contains(knownBases, r.Episode.Basis):
		return fmt.Sprintf("episode.deadlineBasis %q is not one of %v", r.Episode.Basis, knownBases)
	}
	return ""
}

var (
	knownStatuses = []status.Status{status.Claimed, status.InProgress, status.Failed, status.NotFound}
	knownBases    = []status.Basis{status.BasisTransition, status.BasisFirstObservation, status.BasisOperation}
)

// invalid is how a store hands over an item it cannot read as a record.
func invalid(id, format string, args ...any) status.Record {
	return status.Record{Number: status.Number{ID: id}, Invalid: fmt.Sprintf(format, args...)}
}

// recordAttrs returns the top-level attribute names status.Record is stored under, by the
// struct tag key (json or dynamodbav): the names this code knows and may remove or replace.
func recordAttrs(tagKey string) []string {
	var names []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for f := range t.Fields() {
			tag := f.Tag.Get(tagKey)
			name, _, _ := strings.Cut(tag, ",")
			switch {
			case tag == "-" || !f.IsExported():
			case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
				walk(f.Type)
			case name == "":
				names = append(names, f.Name)
			default:
				names = append(names, name)
			}
		}
	}
	walk(reflect.TypeFor[status.Record]())
	return names
}

// uniqueIDs returns ids without repeats, in their first order, or an error for an empty or
// reserved one.
func uniqueIDs(ids []string) ([]string, error) {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		switch {
		case id == "":
			return nil, fmt.Errorf("get: %w", errEmptyID)
		case reserved(id):
			return nil, fmt.Errorf("get %q: %w", id, errReservedID)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// inOrder returns the records of ids that exist in byID, in the order of ids.
func inOrder(ids []string, byID map[string]status.Record) []status.Record {
	out := make([]status.Record, 0, len(byID))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out
}

// sortByID orders records by phone number ID, so that All is the same for the same state.
func sortByID(recs []status.Record) {
	slices.SortFunc(recs, func(a, b status.Record) int { return cmp.Compare(a.ID, b.ID) })
}
