package store

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonewatch/phonewatch/internal/status"
)

// The file is an indented JSON object keyed by ID, in key order, readable by its owner only,
// and replaced without leaving temporary files behind.
func TestFileFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	f := NewFile(path)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("NewFile created the file: %v", err)
	}
	mustSave(t, f, minimalRecord("b"), fullRecord("c"), minimalRecord("a"))
	mustSave(t, f, mustGet(t, f, "a")) // a second write replaces the first

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object of records: %v\n%s", err, b)
	}
	if len(m) != 3 || m["c"]["phoneNumberId"] != "c" || m["a"]["version"] != float64(2) {
		t.Errorf("unexpected content:\n%s", b)
	}
	ia, ib, ic := strings.Index(string(b), `"a": {`), strings.Index(string(b), `"b": {`), strings.Index(string(b), `"c": {`)
	if ia < 0 || ib < ia || ic < ib {
		t.Errorf("keys not indented in order a, b, c:\n%s", b)
	}
	if n := strings.Count(string(b), `"notFailedAt"`); n != 1 { // only c has one
		t.Errorf("notFailedAt written %d times, want once (zero times omitted):\n%s", n, b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only state.json", len(entries))
	}
}

// A damaged file (not a JSON object of entries) is an error naming it, for every operation, and
// is never overwritten. A damaged entry only makes its record Invalid (TestInvalidRecords).
func TestFileCorrupt(t *testing.T) {
	cases := []struct {
		name, content string
	}{
		{"truncated", `{"a": {"phoneNumberId": "a", "vers`},
		{"not an object", `[1, 2]`},
		{"whitespace and a brace", " \n{"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			f := NewFile(path)
			ctx := context.Background()
			_, errAll := f.All(ctx)
			_, errGet := f.Get(ctx, []string{"a"})
			_, errSave := f.Save(ctx, records("new", 1))
			for op, err := range map[string]error{"All": errAll, "Get": errGet, "Save": errSave} {
				if err == nil || !strings.Contains(err.Error(), path) {
					t.Errorf("%s: err = %v, want an error naming %s", op, err, path)
				}
			}
			if b, _ := os.ReadFile(path); string(b) != c.content {
				t.Errorf("the corrupt file was overwritten with:\n%s", b)
			}
		})
	}
}

// An empty file (touch, an editor that truncated it) holds no records: an empty state, as a
// missing file is, not a corrupt one; the first Save fills it.
func TestFileEmpty(t *testing.T) {
	for _, content := range []string{"", " \n"} {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		f := NewFile(path)
		if recs, err := f.All(context.Background()); err != nil || len(recs) != 0 {
			t.Errorf("%q: All = %v, %v; want no records", content, recs, err)
		}
		mustSave(t, f, minimalRecord("a"))
		if recs, err := f.All(context.Background()); err != nil || len(recs) != 1 {
			t.Errorf("%q: after a Save, All = %v, %v", content, recs, err)
		}
	}
}

// A Save whose records all conflict leaves the file as it was (no needless rewrite).
func TestFileNoWriteOnAllConflicts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f := NewFile(path)
	mustSave(t, f, minimalRecord("a"))
	before, _ := os.Stat(path) // a rewrite renames a new file over it: a new inode
	c, err := f.Save(context.Background(), nil)
	if err != nil || len(c) != 0 {
		t.Fatalf("empty Save: %v %v", c, err)
	}
	stale := minimalRecord("a") // version 0 over a stored record
	if c, err := f.Save(context.Background(), []status.Record{stale}); err != nil || len(c) != 1 {
		t.Fatalf("Save: %v %v", c, err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) {
		t.Errorf("the file was replaced although nothing was written")
	}
}
