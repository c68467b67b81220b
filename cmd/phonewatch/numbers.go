package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// fileSource is a Connect stand-in for local runs: DescribePhoneNumber outputs from a file.
type fileSource struct {
	byID  map[string]*status.Summary
	order []string
}

var _ monitor.Source = (*fileSource)(nil)

// loadNumbers reads what `aws connect describe-phone-number` prints: one output, or a JSON
// array of them.
func loadNumbers(path string) (*fileSource, error) {
	b, err := os.ReadFile(path) //nolint:gosec // G304: reading the file the user named is the point
	if err != nil {
		return nil, err
	}
	var outs []status.DescribeOutput
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var one status.DescribeOutput
		err = json.Unmarshal(b, &one)
		outs = append(outs, one)
	} else {
		err = json.Unmarshal(b, &outs)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: want a DescribePhoneNumber output or a JSON array of them: %w", path, err)
	}
	src := &fileSource{byID: map[string]*status.Summary{}}
	for i, o := range outs {
		s := o.ClaimedPhoneNumberSummary
		if s == nil || s.PhoneNumberID == nil || *s.PhoneNumberID == "" {
			return nil, fmt.Errorf("%s: entry %d has no ClaimedPhoneNumberSummary.PhoneNumberId", path, i)
		}
		if _, dup := src.byID[*s.PhoneNumberID]; dup {
			return nil, fmt.Errorf("%s: entry %d repeats PhoneNumberId %s", path, i, *s.PhoneNumberID)
		}
		src.byID[*s.PhoneNumberID] = s
		src.order = append(src.order, *s.PhoneNumberID)
	}
	return src, nil
}

// List returns the file's numbers of these targets (all of them when targets is empty).
func (f *fileSource) List(_ context.Context, targets []string) ([]status.Number, error) {
	var out []status.Number
	for _, id := range f.order {
		s := f.byID[id]
		target := deref(s.TargetArn)
		if len(targets) > 0 && !slices.Contains(targets, target) {
			continue
		}
		out = append(out, status.Number{ID: id, ARN: deref(s.PhoneNumberArn), E164: deref(s.PhoneNumber),
			TargetARN: target, InstanceID: deref(s.InstanceID)})
	}
	return out, nil
}

// Describe returns the file's summary of one number; a number not in the file is gone.
func (f *fileSource) Describe(_ context.Context, ref string) (*status.Summary, error) {
	if s, ok := f.byID[monitor.IDOf(ref)]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("describe %s: %w", ref, status.ErrNotFound)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
