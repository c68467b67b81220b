package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// Function-field fakes, for what the summary and the publish bookkeeping do with answers
// that a real peer would add nothing to.
type fakeSource struct {
	list     func(ctx context.Context, targets []string) ([]status.Number, error)
	describe func(ctx context.Context, ref string) (*status.Summary, error)
}

func (f fakeSource) List(ctx context.Context, targets []string) ([]status.Number, error) {
	return f.list(ctx, targets)
}

func (f fakeSource) Describe(ctx context.Context, ref string) (*status.Summary, error) {
	return f.describe(ctx, ref)
}

type fakeStore struct {
	all  func(ctx context.Context) ([]status.Record, error)
	get  func(ctx context.Context, ids []string) ([]status.Record, error)
	save func(ctx context.Context, recs []status.Record) ([]string, error)
}

func (f fakeStore) All(ctx context.Context) ([]status.Record, error) { return f.all(ctx) }
func (f fakeStore) Get(ctx context.Context, ids []string) ([]status.Record, error) {
	return f.get(ctx, ids)
}
func (f fakeStore) Save(ctx context.Context, recs []status.Record) ([]string, error) {
	return f.save(ctx, recs)
}

type fakePublisher func(ctx context.Context, ns []status.Notification) []error

func (f fakePublisher) Publish(ctx context.Context, ns []status.Notification) []error {
	return f(ctx, ns)
}

var (
	_ monitor.Source    = fakeSource{}
	_ monitor.Store     = fakeStore{}
	_ monitor.Publisher = fakePublisher(nil)
)

// connectAnswers is a source that lists nothing and describes from a map of summaries by ID;
// an ID it does not know is ResourceNotFound.
func connectAnswers(byID map[string]status.Summary) fakeSource {
	return fakeSource{
		list: func(context.Context, []string) ([]status.Number, error) { return nil, nil },
		describe: func(_ context.Context, ref string) (*status.Summary, error) {
			s, ok := byID[monitor.IDOf(ref)]
			if !ok {
				return nil, fmt.Errorf("describe %s: %w", ref, status.ErrNotFound)
			}
			return &s, nil
		},
	}
}

// saves records every Save call.
type saves struct {
	mu    sync.Mutex
	calls [][]status.Record
}

func (s *saves) save(_ context.Context, recs []status.Record) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := slices.Clone(recs)
	for i := range c { // as a store writes it: later changes to the caller's records do not show
		if e := c[i].Episode; e != nil {
			ep := *e
			c[i].Episode = &ep
		}
	}
	s.calls = append(s.calls, c)
	return nil, nil
}

func (s *saves) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		for _, r := range c {
			out = append(out, r.ID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestSummaryCounts: what the summary says of each kind of number. A number whose record
// another live run has claimed is checked and counted (status, nearest deadline) but neither
// decided nor written; a wrong configured ID is counted as NOT_FOUND and reported; an invalid
// payload is reported and not counted.
func TestSummaryCounts(t *testing.T) {
	now := time.Date(2026, 11, 26, 5, 40, 0, 0, time.UTC)
	policy := status.DefaultPolicy()
	summary := func(id, st, msg string) status.Summary {
		return connecttest.NewSummary(id, "+18005550100", "", st, msg)
	}
	claimedElsewhere := status.Record{
		Number: status.Number{ID: "claimed-elsewhere"}, Status: status.Failed, CheckedAt: now.Add(-time.Hour),
		Episode:   &status.Episode{FailedSince: now.Add(-22 * time.Hour), Deadline: now.Add(2 * time.Hour), Basis: status.BasisTransition},
		ClaimedBy: "another-run", ClaimUntil: now.Add(10 * time.Minute), Version: 4,
	}
	stuck := status.Record{
		Number: status.Number{ID: "stuck"}, Status: status.InProgress,
		CheckedAt: now.Add(-5 * time.Minute), InProgressSince: now.Add(-time.Hour), Version: 2,
	}
	src := connectAnswers(map[string]status.Summary{
		"claimed-elsewhere": summary("claimed-elsewhere", "FAILED", "x"),
		"fail-new":          summary("fail-new", "FAILED", "x"),
		"ok":                summary("ok", "CLAIMED", ""),
		"stuck":             summary("stuck", "IN_PROGRESS", ""),
		"bad":               summary("bad", "WEIRD", ""),
	})
	var saved saves
	var sent []status.Notification
	m := &monitor.Monitor{
		Source: src,
		Store: fakeStore{
			all:  func(context.Context) ([]status.Record, error) { return []status.Record{claimedElsewhere, stuck}, nil },
			save: saved.save,
		},
		Publisher: fakePublisher(func(_ context.Context, ns []status.Notification) []error {
			sent = append(sent, ns...)
			return make([]error, len(ns))
		}),
		Policy:         policy,
		PhoneNumberIDs: []string{"fail-new", "ok", "bad", "unknown-id"},
		Now:            func() time.Time { return now },
		InFlight:       2,
		Log:            quietLog(),
	}
	sum, err := m.Run(context.Background(), monitor.Scope{Scheduled: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Checked != 5 {
		t.Errorf("checked %d, want 5 (all but the invalid payload)", sum.Checked)
	}
	wantStatuses := map[string]int{"FAILED": 2, "CLAIMED": 1, "IN_PROGRESS": 1, "NOT_FOUND": 1}
	if fmt.Sprint(sum.Statuses) != fmt.Sprint(wantStatuses) {
		t.Errorf("statuses %v, want %v", sum.Statuses, wantStatuses)
	}
	var errIDs []string
	for _, e := range sum.Errors {
		errIDs = append(errIDs, e.PhoneNumberID)
	}
	slices.Sort(errIDs)
	if !slices.Equal(errIDs, []string{"bad", "unknown-id"}) {
		t.Errorf("errors %+v, want one for bad and one for unknown-id", sum.Errors)
	}
	var events []string
	for _, n := range sent {
		events = append(events, n.Number.ID+" "+string(n.Event))
	}
	slices.Sort(events)
	if !slices.Equal(events, []string{"fail-new FAILED", "stuck STUCK"}) || sum.NotificationsSent != 2 {
		t.Errorf("sent %v (summary %d), want FAILED for fail-new and STUCK for stuck", events, sum.NotificationsSent)
	}
	if got := saved.ids(); !slices.Equal(got, []string{"fail-new", "ok", "stuck", "unknown-id"}) {
		t.Errorf("saved %v: the claimed record and the invalid payload must not be written", got)
	}
	if !sum.NearestDeadline.Equal(claimedElsewhere.Episode.Deadline) {
		t.Errorf("nearest deadline %v, want the claimed record's %v", sum.NearestDeadline, claimedElsewhere.Episode.Deadline)
	}
	if !sum.Complete {
		t.Error("complete false without a deadline")
	}
}

// TestPublishOutcomes: each notification is marked sent only if the publisher accepted it;
// the claim write carries this run's claim, the second write releases it one version on.
func TestPublishOutcomes(t *testing.T) {
	now := time.Date(2026, 11, 26, 5, 40, 0, 0, time.UTC)
	byID := map[string]status.Summary{}
	for _, id := range []string{"a", "b", "c"} {
		byID[id] = connecttest.NewSummary(id, "+18005550100", "", "FAILED", "")
	}
	var saved saves
	m := &monitor.Monitor{
		Source: connectAnswers(byID),
		Store: fakeStore{
			get:  func(context.Context, []string) ([]status.Record, error) { return nil, nil },
			save: saved.save,
		},
		Publisher: fakePublisher(func(_ context.Context, ns []status.Notification) []error {
			errs := make([]error, len(ns))
			for i, n := range ns {
				if n.Number.ID == "b" {
					errs[i] = errors.New("rejected")
				}
			}
			return errs
		}),
		Policy:   status.DefaultPolicy(),
		Now:      func() time.Time { return now },
		NewRunID: func() string { return "this-run" },
		Log:      quietLog(),
	}
	sum, err := m.Run(context.Background(), monitor.Scope{PhoneNumberIDs: []string{"a", "b", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.NotificationsSent != 2 || len(sum.Errors) != 1 || sum.Errors[0].PhoneNumberID != "b" ||
		!strings.Contains(sum.Errors[0].Error, "publish FAILED") {
		t.Errorf("summary %+v, want 2 sent and b's publish error", sum)
	}
	if len(saved.calls) != 2 {
		t.Fatalf("%d saves, want 2: claim, then mark and release", len(saved.calls))
	}
	for _, r := range saved.calls[0] {
		if r.ClaimedBy != "this-run" || !r.ClaimUntil.After(now) || r.Version != 0 || r.Episode.Announced() {
			t.Errorf("claim write of %s: %+v", r.ID, r)
		}
	}
	for _, r := range saved.calls[1] {
		if r.ClaimedBy != "" || !r.ClaimUntil.IsZero() || r.Version != 1 {
			t.Errorf("mark write of %s: claim %q until %v, version %d; want released, version 1", r.ID, r.ClaimedBy, r.ClaimUntil, r.Version)
		}
		if announced := r.Episode.Announced(); announced != (r.ID != "b") {
			t.Errorf("%s announced %v after publish", r.ID, announced)
		}
	}
}

// TestNothingCheckedIsAnError: a run that could check no number returns an error that says
// why; one with nothing to check does not.
func TestNothingCheckedIsAnError(t *testing.T) {
	empty := fakeStore{all: func(context.Context) ([]status.Record, error) { return nil, nil }}
	testCases := []struct {
		name    string
		list    error
		wantErr string
	}{
		{"nothing to watch", nil, ""},
		{"list denied", errors.New("list phone numbers: access denied (the role needs IAM action connect:ListPhoneNumbersV2)"),
			"connect:ListPhoneNumbersV2"},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			m := &monitor.Monitor{
				Source: fakeSource{list: func(context.Context, []string) ([]status.Number, error) { return nil, tc.list }},
				Store:  empty,
				Policy: status.DefaultPolicy(),
				Log:    quietLog(),
			}
			_, err := m.Run(context.Background(), monitor.Scope{Scheduled: true})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}
