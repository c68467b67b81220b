// Package store keeps phonewatch's per-number state between runs: in DynamoDB under Lambda, and
// in one JSON file for local runs. Both implement monitor.Store with the same optimistic
// versions, so that two runs that overlap never overwrite each other's record unseen.
package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/phonewatch/phonewatch/internal/status"
)

// ErrDuplicateID is returned (wrapped) by Save when one call holds two records of one number:
// which of them should win is the caller's bug to fix, not the store's to guess.
var ErrDuplicateID = errors.New("duplicate phone number ID")

// errEmptyID is returned (wrapped) for a record or lookup without a phone number ID.
var errEmptyID = errors.New("empty phone number ID")

// checkSave rejects a Save that the version check cannot judge: a record without an ID, a
// negative version, or two records of one number.
func checkSave(recs []status.Record) error {
	seen := make(map[string]bool, len(recs))
	for i, r := range recs {
		switch {
		case r.ID == "":
			return fmt.Errorf("record %d: %w", i, errEmptyID)
		case r.Version < 0:
			return fmt.Errorf("record %s: negative version %d", r.ID, r.Version)
		case seen[r.ID]:
			return fmt.Errorf("record %s: %w", r.ID, ErrDuplicateID)
		}
		seen[r.ID] = true
	}
	return nil
}

// uniqueIDs returns ids without repeats, in their first order, or an error for an empty one.
func uniqueIDs(ids []string) ([]string, error) {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("get: %w", errEmptyID)
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
