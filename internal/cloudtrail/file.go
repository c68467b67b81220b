package cloudtrail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// File is the operations of a saved lookup, for local runs.
type File struct {
	ops []status.Operation
}

var _ monitor.Operations = (*File)(nil)

// fileEntry is one event as `aws cloudtrail lookup-events` prints it.
type fileEntry struct {
	EventID     string          `json:"EventId"`
	EventName   string          `json:"EventName"`
	EventSource string          `json:"EventSource"`
	EventTime   json.RawMessage `json:"EventTime"`
	// CloudTrailEvent is the record as a JSON string; anything else is an error.
	CloudTrailEvent json.RawMessage `json:"CloudTrailEvent"`
}

// LoadFile reads what `aws cloudtrail lookup-events` prints ({"Events": [...]}, pages
// merged or not). Unlike a live lookup, which skips an unreadable record, a bad entry is an
// error naming the file and the entry: a saved file can be fixed.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- the operator names the file to read
	if err != nil {
		return nil, fmt.Errorf("read CloudTrail events: %w", err)
	}
	var doc struct {
		Events *[]fileEntry `json:"Events"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not the output of aws cloudtrail lookup-events: %w", path, err)
	}
	if doc.Events == nil {
		return nil, fmt.Errorf("%s: no \"Events\" array: not the output of aws cloudtrail lookup-events", path)
	}
	f := &File{}
	for i, fe := range *doc.Events {
		e, err := fe.entry()
		if err == nil {
			var op status.Operation
			var what outcome
			if op, what, err = parseRecord(e); err == nil && what == kept {
				f.ops = append(f.ops, op)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: Events[%d] (EventId %q): %w", path, i, fe.EventID, err)
		}
	}
	return f, nil
}

// entry checks and converts a file's event.
func (fe fileEntry) entry() (entry, error) {
	e := entry{EventID: fe.EventID, EventName: fe.EventName, EventSource: fe.EventSource}
	if err := json.Unmarshal(fe.CloudTrailEvent, &e.CloudTrailEvent); err != nil || e.CloudTrailEvent == "" {
		return e, errors.New("CloudTrailEvent is not a JSON string holding the record")
	}
	t, err := cliTime(fe.EventTime)
	if err != nil {
		return e, err
	}
	e.EventTime = t
	return e, nil
}

// cliTime reads an EventTime as the CLI prints it: an ISO 8601 string (version 2's
// default) or epoch seconds (version 1, or --cli-timestamp-format wire). Absent is zero.
func cliTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("EventTime %q is not an ISO 8601 time", s)
		}
		return t.UTC(), nil
	}
	var secs float64
	if err := json.Unmarshal(raw, &secs); err != nil || secs < 0 || secs > math.MaxInt32*4 {
		return time.Time{}, fmt.Errorf("EventTime %s is neither an ISO 8601 time nor epoch seconds", raw)
	}
	whole, frac := math.Modf(secs)
	return time.Unix(int64(whole), int64(math.Round(frac*1e9))).UTC(), nil
}

// Lookup returns the file's operations with an event time in [from, to), once each by
// EventId, oldest first.
func (f *File) Lookup(ctx context.Context, from, to time.Time) ([]status.Operation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := newCollector(from, to)
	for _, op := range f.ops {
		c.add(op)
	}
	return c.operations(), nil
}
