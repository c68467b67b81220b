package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// memStore is a monitor.Store that keeps each record as its own encoded item, as DynamoDB
// does: reads decode every record and saves encode each one, with the same version checks as
// the real stores, but no whole-file rewrite (the file store's, which a Lambda never does)
// and no network. The encoded items live in this process, which a Lambda's would not: the
// measured peak is, if anything, a little high.
type memStore struct {
	mu     sync.Mutex
	items  map[string][]byte
	cursor time.Time
	usage  storeUsage
}

// storeUsage counts what the store was asked, priced as DynamoDB on-demand would price the
// real store's calls (internal/store): a strongly consistent Scan by the total size it read,
// each record of a TransactWriteItems at 2 units per KB, the cursor's consistent GetItem and
// its UpdateItem at 1 unit each. Sizes are the records' JSON encodings, close to their
// DynamoDB item sizes (the same attribute names and values).
type storeUsage struct {
	Scans        int
	ScannedBytes int64
	ReadUnits    int64
	Writes       int // records written
	WrittenBytes int64
	WriteUnits   int64
	CursorReads  int
	CursorWrites int
}

var (
	_ monitor.Store  = (*memStore)(nil)
	_ monitor.Cursor = (*memStore)(nil)
)

func newMemStore() *memStore { return &memStore{items: map[string][]byte{}} }

func (m *memStore) All(context.Context) ([]status.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]status.Record, 0, len(m.items))
	var size int64
	for _, b := range m.items {
		size += int64(len(b))
	}
	m.usage.Scans++
	m.usage.ScannedBytes += size
	m.usage.ReadUnits += max(1, ceilDiv(size, 4096))
	for id, b := range m.items {
		r, err := decodeRecord(id, b)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (m *memStore) Get(_ context.Context, ids []string) ([]status.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []status.Record
	seen := map[string]bool{}
	for _, id := range ids {
		b, ok := m.items[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		m.usage.ReadUnits += ceilDiv(int64(len(b)), 4096) // BatchGetItem, consistent
		r, err := decodeRecord(id, b)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Save writes each record whose Version is the stored one's (0: none stored) with Version+1,
// and returns the IDs of the others.
func (m *memStore) Save(_ context.Context, recs []status.Record) ([]string, error) {
	for _, r := range recs {
		if r.ID == "" {
			return nil, fmt.Errorf("save: a record without phoneNumberId")
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var conflicts []string
	for _, r := range recs {
		var stored int64
		if b, ok := m.items[r.ID]; ok {
			prev, err := decodeRecord(r.ID, b)
			if err != nil {
				return nil, err
			}
			stored = prev.Version
		} else if r.Version != 0 {
			stored = -1 // gone: no version matches
		}
		if stored != r.Version {
			conflicts = append(conflicts, r.ID)
			continue
		}
		r.Version++
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("save %s: %w", r.ID, err)
		}
		m.items[r.ID] = b
		m.usage.Writes++
		m.usage.WrittenBytes += int64(len(b))
		m.usage.WriteUnits += 2 * ceilDiv(int64(len(b)), 1024)
	}
	return conflicts, nil
}

// Cursor and SetCursor keep the CloudTrail cursor beside the records, as the real stores do
// under a reserved key that All never returns.
func (m *memStore) Cursor(context.Context) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.usage.ReadUnits++
	m.usage.CursorReads++
	return m.cursor, nil
}

func (m *memStore) SetCursor(_ context.Context, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.usage.WriteUnits++
	m.usage.CursorWrites++
	if t.After(m.cursor) {
		m.cursor = t
	}
	return nil
}

// Usage returns the counts so far.
func (m *memStore) Usage() storeUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.usage
}

// clone returns a store holding the same records and cursor, with no usage counted: the
// same state for two scenarios.
func (m *memStore) clone() *memStore {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := newMemStore()
	for id, b := range m.items {
		c.items[id] = b // never modified in place: Save replaces the slice
	}
	c.cursor = m.cursor
	return c
}

// ceilDiv is a/b rounded up, for positive a and b.
func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

func decodeRecord(id string, b []byte) (status.Record, error) {
	var r status.Record
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode the record of %s: %w", id, err)
	}
	return r, nil
}
