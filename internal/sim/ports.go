package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/status"
)

// The in-process ports of one run. None of them draws from the world's random source while the
// monitor runs (the monitor reads CloudTrail on a goroutine of its own): every fault is decided
// by a hash of the seed, the run and the number, so that a world replays exactly.

// chance is a deterministic draw in [0, 1) from the world's seed and the given keys.
func (w *World) chance(keys ...any) float64 {
	h := fnv.New64a()
	_, _ = fmt.Fprint(h, w.Seed)
	for _, k := range keys {
		_, _ = fmt.Fprint(h, "/", k)
	}
	return float64(h.Sum64()>>11) / (1 << 53)
}

// source is Connect as one run sees it: the truth at the run's true time, with its faults.
type source struct{ r *run }

func (s source) List(_ context.Context, targets []string) ([]status.Number, error) {
	w := s.r.w
	var out []status.Number
	for _, n := range w.numbers {
		tr := n.at(s.r.at)
		if !tr.exists || (tr.status == status.Failed && n.hiddenWhenFailed) {
			continue
		}
		if len(targets) > 0 && !slices.Contains(targets, tr.target) {
			continue
		}
		out = append(out, status.Number{ID: n.id, ARN: n.arn, E164: n.e164, TargetARN: tr.target})
	}
	return out, nil
}

func (s source) Describe(ctx context.Context, ref string) (*status.Summary, error) {
	r := s.r
	r.describes++
	if r.describes == 1 && r.nested != nil && r.nestAt == "describe" {
		r.w.runNested(r)
	}
	if r.dieAtDescribe == r.describes {
		r.died = true
		r.cancel()
		return nil, ctx.Err()
	}
	id := monitor.IDOf(ref)
	n := r.w.byID[id]
	if n == nil {
		return nil, fmt.Errorf("describe %s: %w", id, status.ErrNotFound)
	}
	if !r.w.draining && r.w.chance("500", r.idx, id) < r.w.p.p500 {
		r.faulty = true
		return nil, errors.New("InternalServiceException: simulated")
	}
	tr := n.at(r.at)
	if !tr.exists || (!r.w.draining && slices.ContainsFunc(n.flaps, func(s spell) bool { return s.has(r.at) })) {
		if tr.exists {
			r.faulty = true // a transient 404
		}
		return nil, fmt.Errorf("describe %s: %w", id, status.ErrNotFound)
	}
	msg := ""
	if tr.status == status.Failed {
		msg = "The phone number could not be claimed to the target."
	}
	sum := connecttest.NewSummary(n.id, n.e164, tr.target, string(tr.status), msg)
	r.answered[id] = tr.status
	return &sum, nil
}

// operations is CloudTrail's event history at the run's true time: each call that appeared by
// then, with an event time in [from, to), oldest first.
type operations struct{ r *run }

func (o operations) Lookup(_ context.Context, from, to time.Time) ([]status.Operation, error) {
	var out []status.Operation
	for _, n := range o.r.w.numbers {
		for _, c := range n.calls {
			if c.appear.IsZero() || c.appear.After(o.r.at) || c.at.Before(from) || !c.at.Before(to) {
				continue
			}
			op := status.Operation{Name: c.name, At: c.at, By: c.by, TargetARN: c.target, EventID: c.eventID,
				PhoneNumberID: n.id, PhoneNumberARN: n.arn}
			if c.name == status.OpClaim {
				op.E164 = n.e164
			}
			out = append(out, op)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// store is the state table: optimistic versions, deep copies in and out, and the cursor. A
// run that died (its context ended) writes nothing.
type store struct {
	w      *World
	recs   map[string]status.Record
	cursor time.Time
	seq    int // counts writes, so the judge knows what a run could have read
}

// storeView is the store as one run reaches it.
type storeView struct{ r *run }

func (v storeView) read() {
	if v.r.readSeq < 0 {
		v.r.readSeq = v.r.w.st.seq
	}
}

func (v storeView) All(ctx context.Context) ([]status.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v.read()
	st := v.r.w.st
	ids := make([]string, 0, len(st.recs))
	for id := range st.recs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]status.Record, 0, len(ids))
	for _, id := range ids {
		out = append(out, deepCopy(st.recs[id]))
	}
	return out, nil
}

func (v storeView) Get(ctx context.Context, ids []string) ([]status.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v.read()
	var out []status.Record
	seen := map[string]bool{}
	for _, id := range ids {
		if rec, ok := v.r.w.st.recs[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, deepCopy(rec))
		}
	}
	return out, nil
}

func (v storeView) Save(ctx context.Context, recs []status.Record) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := v.r.w.st
	var conflicts []string
	for _, rec := range recs {
		cur, ok := st.recs[rec.ID]
		if (ok && cur.Version != rec.Version) || (!ok && rec.Version != 0) {
			conflicts = append(conflicts, rec.ID)
			continue
		}
		c := deepCopy(rec)
		c.Version++
		st.recs[rec.ID] = c
		st.seq++
		v.r.w.judge.saved(v.r, c)
	}
	return conflicts, nil
}

func (v storeView) Cursor(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	return v.r.w.st.cursor, nil
}

func (v storeView) SetCursor(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.After(v.r.w.st.cursor) {
		v.r.w.st.cursor = t
	}
	return nil
}

// publisher is SNS: it delivers, refuses (an outage), or loses the answer to a publish it did
// or did not deliver. Every attempt and every delivery goes to the judge.
type publisher struct{ r *run }

// The ways one publish ends.
const (
	snsOK            = "ok"
	snsDown          = "down"           // an error answer: not accepted
	snsLostDelivered = "lost-delivered" // accepted, the answer lost
	snsLostDropped   = "lost-dropped"   // not accepted, no answer either
)

func (p publisher) Publish(ctx context.Context, ns []status.Notification) []error {
	r := p.r
	errs := make([]error, len(ns))
	for i, n := range ns {
		mode := r.w.snsMode(r.idx, i)
		r.w.judge.cur = r
		if why := r.w.judge.unsendable(n); why != "" {
			mode = snsDown // SNS refuses it, run after run
		}
		if mode != snsOK {
			r.faulty = true
		}
		r.w.judge.attempted(r, n, mode)
		switch mode {
		case snsDown:
			errs[i] = errors.New("InternalError: simulated SNS outage")
		case snsLostDelivered:
			errs[i] = fmt.Errorf("%w: simulated lost answer", status.ErrUnconfirmed)
		case snsLostDropped:
			errs[i] = fmt.Errorf("%w: simulated lost request", status.ErrUnconfirmed)
		}
	}
	if r.nested != nil && r.nestAt == "publish" {
		r.w.runNested(r)
	}
	if r.dieAfterPublish {
		// The run dies before it can mark anything sent: its claims stay until they expire.
		r.died = true
		r.cancel()
	}
	_ = ctx
	return errs
}

// unsendable says why SNS would refuse n as the real publisher renders it (notify.Fits), ""
// when it would not; a violation the first time. The answer is kept by notification ID (content), since a
// refused notification is tried again every run.
func (j *Judge) unsendable(n status.Notification) string {
	why, ok := j.rendered[n.ID]
	if !ok {
		why = render(n)
		j.rendered[n.ID] = why
		if why != "" {
			j.violate(Unsendable, j.cur, n.Number.ID, "%s %s: %s", n.Event, n.ID, why)
		}
	}
	return why
}

func render(n status.Notification) string {
	if err := notify.Fits(n); err != nil {
		return err.Error()
	}
	return ""
}

func (w *World) snsMode(run, i int) string {
	if !w.p.snsFaulty || w.draining {
		return snsOK
	}
	switch c := w.chance("sns", run, i); {
	case c < 0.08:
		return snsDown
	case c < 0.12:
		return snsLostDelivered
	case c < 0.16:
		return snsLostDropped
	}
	return snsOK
}

// deepCopy copies a record with nothing shared, whatever fields the record gains: the store
// must never hand a run a record another run can change.
func deepCopy(r status.Record) status.Record {
	return copyValue(reflect.ValueOf(r)).Interface().(status.Record)
}

// deepFields lists the fields of a struct type that hold references (pointers, slices, maps,
// or structs holding them), cached per type; a struct with unexported fields (time.Time) is a
// value.
func deepFields(t reflect.Type) []int {
	if f, ok := deepCache.Load(t); ok {
		return f.([]int)
	}
	var out []int
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			out = nil
			break
		}
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			out = append(out, i)
		case reflect.Struct:
			if len(deepFields(f.Type)) > 0 {
				out = append(out, i)
			}
		}
	}
	deepCache.Store(t, out)
	return out
}

var deepCache sync.Map

func copyValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(copyValue(v.Elem()))
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(copyValue(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			c.SetMapIndex(it.Key(), copyValue(it.Value()))
		}
		return c
	case reflect.Struct:
		deep := deepFields(v.Type())
		if len(deep) == 0 {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		for _, i := range deep {
			c.Field(i).Set(copyValue(v.Field(i)))
		}
		return c
	default:
		return v
	}
}
