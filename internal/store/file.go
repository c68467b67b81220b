package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/phonewatch/phonewatch/internal/status"
)

// File is a monitor.Store and monitor.Cursor in one JSON file, for local runs: an object keyed
// by phone number ID (and the cursor under its reserved key, which files of earlier versions
// simply lack), indented and in key order so that it reads and diffs well. Every Save rewrites the file
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

// All returns every record, ordered by ID: one that is not a valid record comes back Invalid;
// the store's own entries are left out.
func (f *File) All(ctx context.Context) ([]status.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.load()
	if err != nil {
		return nil, err
	}
	out := make([]status.Record, 0, len(m))
	for id, raw := range m {
		if !reserved(id) {
			out = append(out, decodeJSON(id, raw))
		}
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
	found := make(map[string]status.Record, len(ids))
	for _, id := range ids {
		if raw, ok := m[id]; ok {
			found[id] = decodeJSON(id, raw)
		}
	}
	return inOrder(ids, found), nil
}

// Save writes each record whose version matches the stored one (0: none stored), with
// Version+1, and returns the IDs of the others; a stored entry that is not a valid record is a
// conflict (it is left for a person to fix). Fields a newer version wrote are kept. Nothing is
// written when the call is invalid (an empty or duplicate ID) or when no record is written;
// a record that breaks the rules fails alone in a *NotWrittenError.
func (f *File) Save(ctx context.Context, recs []status.Record) ([]string, error) {
	good, errs, err := screen(recs)
	if err != nil {
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
	for _, r := range good {
		raw, ok := m[r.ID]
		stored := decodeJSON(r.ID, raw)
		if (r.Version == 0 && ok) || (r.Version != 0 && (!ok || stored.Invalid != "" || stored.Version != r.Version)) {
			conflicts = append(conflicts, r.ID)
			continue
		}
		r.Version++
		next, err := encodeJSON(r, raw)
		if err != nil {
			errs = append(errs, &NotWrittenError{IDs: []string{r.ID}, Rejected: true, Err: err})
			continue
		}
		m[r.ID] = next
		written++
	}
	if written > 0 {
		if err := f.write(m); err != nil {
			return nil, err
		}
	}
	return conflicts, errors.Join(errs...)
}

// knownFields are the JSON fields of a record this code writes; any other is a newer version's.
// retiredAttrs are known too, so that every write drops them.
var knownFields = append(recordAttrs("json"), retiredAttrs...)

// encodeJSON encodes r, keeping the fields of stored (the entry it replaces) that this code does
// not know.
func encodeJSON(r status.Record, stored json.RawMessage) (json.RawMessage, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record %s: %w", r.ID, err)
	}
	var old map[string]json.RawMessage
	if len(stored) == 0 || json.Unmarshal(stored, &old) != nil {
		return b, nil
	}
	for name := range old {
		if slices.Contains(knownFields, name) {
			delete(old, name)
		}
	}
	if len(old) == 0 {
		return b, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("encode record %s: %w", r.ID, err)
	}
	maps.Copy(fields, old)
	return json.Marshal(fields)
}

// decodeJSON turns the entry under key id into a record, or into an Invalid one naming the field
// that breaks it.
func decodeJSON(id string, raw json.RawMessage) status.Record {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return invalid(id, "not a JSON object: %s", brief(raw))
	}
	var key string
	if err := json.Unmarshal(fields["phoneNumberId"], &key); err != nil || key != id {
		return invalid(id, "phoneNumberId is %s under the key %q", brief(fields["phoneNumberId"]), id)
	}
	if why := checkVersionJSON(fields[versionAttr]); why != "" {
		return invalid(id, "%s", why)
	}
	var r status.Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return invalid(id, "%s", culpritJSON(fields, err))
	}
	if why := checkRead(r); why != "" {
		return invalid(id, "%s", why)
	}
	return r
}

// checkVersionJSON says what is wrong with a record's version field, or "" when nothing is.
func checkVersionJSON(v json.RawMessage) string {
	if v == nil {
		return "no " + versionAttr + " field"
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber() // a string holding a number would pass as a json.Number
	var val any
	if err := dec.Decode(&val); err != nil {
		return fmt.Sprintf("%s is %s, want a number", versionAttr, brief(v))
	}
	n, ok := val.(json.Number)
	if !ok {
		return fmt.Sprintf("%s is %s, want a number", versionAttr, brief(v))
	}
	if _, err := n.Int64(); err != nil {
		return fmt.Sprintf("%s is %s, want a whole number", versionAttr, brief(v))
	}
	return ""
}

// culpritJSON names the field that made a record fail to decode with err, by decoding each
// field alone.
func culpritJSON(fields map[string]json.RawMessage, err error) string {
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		one, _ := json.Marshal(map[string]json.RawMessage{name: fields[name]})
		var r status.Record
		if e := json.Unmarshal(one, &r); e != nil {
			return fmt.Sprintf("%s is %s: %v", name, brief(fields[name]), e)
		}
	}
	return fmt.Sprintf("cannot decode: %v", err)
}

// brief shows a JSON value shortly, for a reason.
func brief(raw json.RawMessage) string {
	const most = 60
	if raw == nil {
		return "missing"
	}
	if len(raw) > most {
		return string(raw[:most]) + "…"
	}
	return string(raw)
}

// load reads the whole file, each entry undecoded. A missing or empty file is an empty store; a file
// that is not a JSON object is an error naming the file, so that a damaged state is noticed
// and never silently replaced (one bad entry only makes that record Invalid).
func (f *File) load() (map[string]json.RawMessage, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]json.RawMessage{}, nil // an empty file (touch, a truncating editor) holds no records
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt (fix or remove it): %w", f.path, err)
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m, nil
}

// write replaces the file with m, atomically and readable by its owner only.
func (f *File) write(m map[string]json.RawMessage) (err error) {
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
