package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/phonewatch/phonewatch/internal/status"
)

// File is a monitor.Store in one JSON file, for local runs: an object keyed by phone number
// ID, indented and in key order so that it reads and diffs well. Every Save rewrites the file
// atomically (a temporary file in the same directory, then a rename), so a crash leaves the
// old state or the new one, never half of each. Versions are checked as in DynamoDB; calls in
// one process are serialized, but two processes sharing one file are not locked against
// each other.
type File struct {
	path string
	mu   sync.Mutex
}

// NewFile returns a store in the file at path. A file that does not exist yet is an empty
// store; it is created by the first Save that writes something.
func NewFile(path string) *File { return &File{path: path} }

// All returns every record, ordered by ID.
func (f *File) All(ctx context.Context) ([]status.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return nil, err
	}
	out := make([]status.Record, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	sortByID(out)
	return out, nil
}

// Get returns the records of these IDs that exist, in the order asked, each once.
func (f *File) Get(ctx context.Context, ids []string) ([]status.Record, error) {
	ids, err := uniqueIDs(ids)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return nil, err
	}
	return inOrder(ids, m), nil
}

// Save writes each record whose version matches the stored one (0: none stored), with
// Version+1, and returns the IDs of the others. Nothing is written when the call is invalid
// (an empty or duplicate ID) or when every record conflicts.
func (f *File) Save(ctx context.Context, recs []status.Record) ([]string, error) {
	if err := checkSave(recs); err != nil {
		return nil, fmt.Errorf("save to %s: %w", f.path, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return nil, err
	}
	var conflicts []string
	written := 0
	for _, r := range recs {
		stored, ok := m[r.ID]
		if (r.Version == 0 && ok) || (r.Version != 0 && (!ok || stored.Version != r.Version)) {
			conflicts = append(conflicts, r.ID)
			continue
		}
		r.Version++
		m[r.ID] = r
		written++
	}
	if written == 0 {
		return conflicts, nil
	}
	if err := f.write(m); err != nil {
		return nil, err
	}
	return conflicts, nil
}

// load reads the whole file. A missing file is an empty store; anything unreadable is an error
// naming the file, so that a damaged state is noticed and never silently replaced.
func (f *File) load() (map[string]status.Record, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]status.Record{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	var m map[string]status.Record
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt (fix or remove it): %w", f.path, err)
	}
	if m == nil {
		m = map[string]status.Record{}
	}
	for key, r := range m {
		if r.ID != key {
			return nil, fmt.Errorf("state file %s is corrupt (fix or remove it): key %q holds phoneNumberId %q",
				f.path, key, r.ID)
		}
	}
	return m, nil
}

// write replaces the file with m, atomically and readable by its owner only.
func (f *File) write(m map[string]status.Record) (err error) {
	b, err := json.MarshalIndent(m, "", "  ") // encoding/json sorts map keys
	if err != nil {
		return fmt.Errorf("encode state for %s: %w", f.path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	return nil
}
