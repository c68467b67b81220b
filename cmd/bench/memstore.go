package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// memStore is a monitor.Store that keeps each record as its own encoded item, as DynamoDB
// does: reads decode every record and saves encode each one, with the same version checks as
// the real stores, but no whole-file rewrite (the file store's, which a Lambda never does)
// and no network. The encoded items live in this process, which a Lambda's would not: the
// measured peak is, if anything, a little high.
type memStore struct {
	mu    sync.Mutex
	items map[string][]byte
}

var _ monitor.Store = (*memStore)(nil)

func newMemStore() *memStore { return &memStore{items: map[string][]byte{}} }

func (m *memStore) All(context.Context) ([]status.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]status.Record, 0, len(m.items))
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
	}
	return conflicts, nil
}

func decodeRecord(id string, b []byte) (status.Record, error) {
	var r status.Record
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode the record of %s: %w", id, err)
	}
	return r, nil
}
