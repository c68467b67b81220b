package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

var (
	_ monitor.Store = (*Dynamo)(nil)
	_ monitor.Store = (*File)(nil)
)

// stores are the implementations every contract test runs against, so that they cannot drift.
var stores = []struct {
	name string
	open func(t *testing.T) monitor.Store
}{
	{"file", func(t *testing.T) monitor.Store { return NewFile(filepath.Join(t.TempDir(), "state.json")) }},
	{"dynamo", func(t *testing.T) monitor.Store { return newTestDynamo(t, nil) }},
}

// forEachStore runs test as one subtest per store.
func forEachStore(t *testing.T, test func(t *testing.T, s monitor.Store)) {
	t.Helper()
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { test(t, st.open(t)) })
	}
}

// t0 has nanoseconds, so that a store that rounds times fails the round trip.
var t0 = time.Date(2026, 11, 26, 5, 40, 0, 123456789, time.UTC)

// fullRecord sets every field of a record, episode included.
func fullRecord(id string) status.Record {
	return status.Record{
		Number: status.Number{
			ID:          id,
			ARN:         "arn:aws:connect:us-east-1:123456789012:phone-number/" + id,
			E164:        "+18005550100",
			CountryCode: "US",
			Type:        "TOLL_FREE",
			Description: "support line ✆",
			TargetARN:   "arn:aws:connect:us-east-1:123456789012:instance/abc",
			InstanceID:  "abc",
		},
		Status:          status.Failed,
		StatusMessage:   "The claim failed: \"quota\"\nretry",
		CheckedAt:       t0.Add(3 * time.Hour),
		NotFailedAt:     t0.Add(-time.Minute),
		InProgressSince: t0.Add(-time.Hour),
		StuckSentAt:     t0.Add(-30 * time.Minute),
		Episode: &status.Episode{
			FailedSince:   t0,
			Deadline:      t0.Add(24*time.Hour - time.Minute),
			Basis:         status.BasisTransition,
			EndedAt:       t0.Add(4 * time.Hour),
			FailedSentAt:  t0.Add(time.Second),
			RemindedAt:    t0.Add(18 * time.Hour),
			ExpiredSentAt: t0.Add(25 * time.Hour),
		},
		ClaimedBy:  "run-1",
		ClaimUntil: t0.Add(5 * time.Minute),
	}
}

// minimalRecord has only what every record has: zero times and no episode must survive as such.
func minimalRecord(id string) status.Record {
	return status.Record{Number: status.Number{ID: id}, Status: status.Claimed, CheckedAt: t0}
}

// records returns n minimal records with distinct IDs.
func records(prefix string, n int) []status.Record {
	out := make([]status.Record, n)
	for i := range out {
		out[i] = minimalRecord(fmt.Sprintf("%s-%04d", prefix, i))
	}
	return out
}

func ids(recs []status.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func mustSave(t *testing.T, s monitor.Store, recs ...status.Record) {
	t.Helper()
	conflicts, err := s.Save(context.Background(), recs)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	if len(conflicts) != 0 {
		t.Fatalf("Save: unexpected conflicts %v", conflicts)
	}
}

func mustGet(t *testing.T, s monitor.Store, id string) status.Record {
	t.Helper()
	got, err := s.Get(context.Background(), []string{id})
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	if len(got) != 1 {
		t.Fatalf("Get(%s) = %d records, want 1", id, len(got))
	}
	return got[0]
}

func mustAll(t *testing.T, s monitor.Store) []status.Record {
	t.Helper()
	all, err := s.All(context.Background())
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	return all
}

func TestRoundTrip(t *testing.T) {
	withEpisodeOpen := fullRecord("open")
	withEpisodeOpen.Episode.EndedAt, withEpisodeOpen.Episode.RemindedAt = time.Time{}, time.Time{}
	withEpisodeOpen.Episode.ExpiredSentAt, withEpisodeOpen.Episode.Basis = time.Time{}, status.BasisFirstObservation
	cases := []struct {
		name string
		rec  status.Record
	}{
		{"every field set", fullRecord("full")},
		{"zero times and no episode", minimalRecord("minimal")},
		{"open episode with zero times inside", withEpisodeOpen},
	}
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		for _, c := range cases {
			mustSave(t, s, c.rec)
		}
		all := mustAll(t, s)
		if len(all) != len(cases) {
			t.Fatalf("All = %d records, want %d", len(all), len(cases))
		}
		for _, c := range cases {
			want := c.rec
			want.Version = 1
			got := mustGet(t, s, c.rec.ID)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: Get =\n%+v\nwant\n%+v", c.name, got, want)
			}
			i := slices.IndexFunc(all, func(r status.Record) bool { return r.ID == c.rec.ID })
			if i < 0 || !reflect.DeepEqual(all[i], want) {
				t.Errorf("%s: not in All as saved", c.name)
			}
		}
	})
}

// A time in another zone keeps its instant (the domain keeps UTC; a store may normalize).
func TestInstantKept(t *testing.T) {
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		r := minimalRecord("zoned")
		r.CheckedAt = t0.In(time.FixedZone("X", 5*3600+1800))
		mustSave(t, s, r)
		if got := mustGet(t, s, r.ID).CheckedAt; !got.Equal(t0) {
			t.Errorf("CheckedAt = %v, want the instant %v", got, t0)
		}
	})
}

func TestOptimisticVersions(t *testing.T) {
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		ctx := context.Background()
		mustSave(t, s, minimalRecord("n1"))
		read := mustGet(t, s, "n1") // both runs read version 1
		if read.Version != 1 {
			t.Fatalf("first save stored version %d, want 1", read.Version)
		}
		a, b := read, read
		a.StatusMessage, b.StatusMessage = "run A", "run B"

		if c, err := s.Save(ctx, []status.Record{a}); err != nil || len(c) != 0 {
			t.Fatalf("run A: conflicts %v, err %v; want it to win", c, err)
		}
		c, err := s.Save(ctx, []status.Record{b})
		if err != nil || !slices.Equal(c, []string{"n1"}) {
			t.Fatalf("run B: conflicts %v, err %v; want exactly [n1]", c, err)
		}
		got := mustGet(t, s, "n1")
		if got.StatusMessage != "run A" || got.Version != 2 {
			t.Fatalf("stored %q version %d, want run A's at version 2", got.StatusMessage, got.Version)
		}
		// Run B reads again and then succeeds over the new version.
		b = got
		b.StatusMessage = "run B"
		mustSave(t, s, b)
		if got := mustGet(t, s, "n1"); got.StatusMessage != "run B" || got.Version != 3 {
			t.Fatalf("stored %q version %d, want run B's at version 3", got.StatusMessage, got.Version)
		}
	})
}

func TestConflictsWithoutWriting(t *testing.T) {
	cases := []struct {
		name    string
		stored  bool  // whether a record is saved first (then at version 1)
		version int64 // the version of the record saved next
	}{
		{"create over an existing record", true, 0},
		{"update of a record never stored", false, 3},
		{"update from a version ahead of the store", true, 2},
	}
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		for i, c := range cases {
			id := fmt.Sprintf("c%d", i)
			if c.stored {
				mustSave(t, s, minimalRecord(id))
			}
			r := minimalRecord(id)
			r.Version, r.StatusMessage = c.version, "must not be written"
			conflicts, err := s.Save(context.Background(), []status.Record{r})
			if err != nil || !slices.Equal(conflicts, []string{id}) {
				t.Errorf("%s: conflicts %v, err %v; want [%s]", c.name, conflicts, err, id)
			}
			got, err := s.Get(context.Background(), []string{id})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != btoi(c.stored) || (c.stored && got[0].StatusMessage != "") {
				t.Errorf("%s: the conflicting record was written: %+v", c.name, got)
			}
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A call the store cannot attribute or judge (an empty ID, two records of one number) writes
// nothing at all.
func TestInvalidSaveWritesNothing(t *testing.T) {
	cases := []struct {
		name string
		recs []status.Record
		is   error
	}{
		{"duplicate IDs", []status.Record{minimalRecord("a"), minimalRecord("b"), minimalRecord("a")}, ErrDuplicateID},
		{"empty ID", []status.Record{minimalRecord("a"), minimalRecord("")}, errEmptyID},
	}
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		for _, c := range cases {
			_, err := s.Save(context.Background(), c.recs)
			if err == nil || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.is)
			}
		}
		if all := mustAll(t, s); len(all) != 0 {
			t.Errorf("invalid saves wrote %d records", len(all))
		}
	})
}

// 250 records need three write chunks and three read chunks in DynamoDB.
func TestManyRecords(t *testing.T) {
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		ctx := context.Background()
		recs := records("m", 250)
		mustSave(t, s, recs...)

		all := mustAll(t, s)
		if !slices.Equal(ids(all), ids(recs)) {
			t.Fatalf("All returned %d records, want the 250 saved, ordered by ID", len(all))
		}
		var ask, want []string
		for i := 249; i > 10; i -= 2 { // 120 known IDs, in descending order
			ask = append(ask, recs[i].ID)
		}
		want = slices.Clone(ask)
		for k := range 5 { // 5 unknown IDs among them, and a repeat at the end
			ask = slices.Insert(ask, k*30, fmt.Sprintf("unknown-%d", k))
		}
		ask = append(ask, recs[249].ID)
		got, err := s.Get(ctx, ask)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if !slices.Equal(ids(got), want) {
			t.Fatalf("Get returned %d records %v..., want the 120 known ones once each, in the order asked",
				len(got), ids(got)[:min(3, len(got))])
		}
		for _, r := range got {
			if r.Version != 1 || !r.CheckedAt.Equal(t0) {
				t.Fatalf("Get %s: version %d checkedAt %v", r.ID, r.Version, r.CheckedAt)
			}
		}
	})
}

func TestGetEdges(t *testing.T) {
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		ctx := context.Background()
		if all := mustAll(t, s); len(all) != 0 {
			t.Fatalf("empty store: All = %v", all)
		}
		for _, ask := range [][]string{nil, {"nope"}} {
			if got, err := s.Get(ctx, ask); err != nil || len(got) != 0 {
				t.Errorf("Get(%q) on an empty store = %v, %v", ask, got, err)
			}
		}
		if _, err := s.Get(ctx, []string{"a", ""}); !errors.Is(err, errEmptyID) {
			t.Errorf("Get with an empty ID: err = %v, want %v", err, errEmptyID)
		}
		if c, err := s.Save(ctx, nil); err != nil || len(c) != 0 {
			t.Errorf("Save(nil) = %v, %v", c, err)
		}
	})
}

// A save of 150 records of which 3 were changed by another run writes the 147 and reports the 3,
// across DynamoDB's chunk boundary (indexes 0-99 and 100-149).
func TestMixedConflicts(t *testing.T) {
	forEachStore(t, func(t *testing.T, s monitor.Store) {
		ctx := context.Background()
		mustSave(t, s, records("x", 150)...)
		read := mustAll(t, s)

		raced := []int{7, 99, 142}
		var other []status.Record
		for _, i := range raced {
			r := read[i]
			r.StatusMessage = "other run"
			other = append(other, r)
		}
		mustSave(t, s, other...)

		mine := slices.Clone(read)
		for i := range mine {
			mine[i].StatusMessage = "this run"
		}
		conflicts, err := s.Save(ctx, mine)
		if err != nil {
			t.Fatalf("Save: %v", err)
		}
		slices.Sort(conflicts)
		want := []string{read[7].ID, read[99].ID, read[142].ID}
		if !slices.Equal(conflicts, want) {
			t.Fatalf("conflicts = %v, want %v", conflicts, want)
		}
		written := 0
		for i, r := range mustAll(t, s) {
			wantMsg := "this run"
			if slices.Contains(raced, i) {
				wantMsg = "other run"
			}
			if r.StatusMessage != wantMsg || r.Version != 2 {
				t.Errorf("%s: %q version %d, want %q version 2", r.ID, r.StatusMessage, r.Version, wantMsg)
			}
			if r.StatusMessage == "this run" {
				written++
			}
		}
		if written != 147 {
			t.Errorf("%d records written, want 147", written)
		}
	})
}
