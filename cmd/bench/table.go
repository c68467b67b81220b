package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// The targets of issue 5. Sizes are in MB of 10^6 bytes, the stricter reading of "MB".
const (
	maxElapsedRatio   = 1.05
	maxThrottledShare = 0.01
	maxInitMs         = 20.0
	maxBinaryBytes    = 15e6
	maxPeakBytes      = 64e6
)

// verdict is how a row compares with its target.
type verdict int

const (
	info verdict = iota // no target: a figure for the reader
	pass
	miss
	broken // the part could not be measured
)

func judge(met bool) verdict {
	if met {
		return pass
	}
	return miss
}

func (v verdict) String() string {
	switch v {
	case pass:
		return "ok"
	case miss:
		return "MISSED"
	case broken:
		return "ERROR"
	}
	return ""
}

// row is one line of the table.
type row struct {
	part, metric, value, target string
	verdict                     verdict
}

// table collects rows and prints them aligned.
type table struct{ rows []row }

func (t *table) add(part, metric, value, target string, v verdict) {
	t.rows = append(t.rows, row{part, metric, value, target, v})
}

func (t *table) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "part\tmetric\tvalue\ttarget\t")
	for _, r := range t.rows {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.part, r.metric, r.value, r.target, r.verdict)
	}
	_ = tw.Flush()
}

// missed names every row whose target was missed.
func (t *table) missed() []string {
	var out []string
	for _, r := range t.rows {
		if r.verdict == miss {
			out = append(out, fmt.Sprintf("%s %s = %s (target %s)", r.part, r.metric, r.value, r.target))
		}
	}
	return out
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

func megabytes(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func addPacing(t *table, o options, r pacingResult) {
	ratio := r.elapsed.Seconds() / r.bound.Seconds()
	t.add("pacing", "elapsed (one scheduled run)", seconds(r.elapsed), "", info)
	t.add("pacing", "bound (N-burst)/R", seconds(r.bound), "", info)
	t.add("pacing", "elapsed / bound", fmt.Sprintf("%.3f", ratio), fmt.Sprintf("<= %.2f", maxElapsedRatio), judge(ratio <= maxElapsedRatio))
	t.add("pacing", "numbers checked", fmt.Sprintf("%d of %d, %d errors", r.checked, o.n, r.runErrors), "all, no errors",
		judge(r.checked == o.n && r.runErrors == 0))
	per := fmt.Sprintf("%d for all %d", r.minDescribes, o.n)
	if r.minDescribes != r.maxDescribes {
		per = fmt.Sprintf("%d to %d", r.minDescribes, r.maxDescribes)
	}
	t.add("pacing", "describes per number", per, "exactly 1", judge(r.minDescribes == 1 && r.maxDescribes == 1))
	share := float64(r.throttled) / float64(max(r.calls, 1))
	t.add("pacing", "throttled (429) responses", fmt.Sprintf("%d of %d calls (%.2f%%)", r.throttled, r.calls, 100*share),
		fmt.Sprintf("<= %g%% of calls", 100*maxThrottledShare), judge(share <= maxThrottledShare))
	t.add("pacing", "notifications published", fmt.Sprintf("%d (discarded)", r.notificationsAccepted), "", info)
}

func addInit(t *table, r initResult) {
	runs := make([]string, len(r.initMs))
	for i, ms := range r.initMs {
		runs[i] = fmt.Sprintf("%.1f", ms)
	}
	med := median(r.initMs)
	t.add("init", fmt.Sprintf("INIT REPORT duration, median of %d", len(r.initMs)), fmt.Sprintf("%.1f ms", med),
		fmt.Sprintf("<= %g ms", maxInitMs), judge(med <= maxInitMs))
	t.add("init", "runs (ms)", strings.Join(runs, " "), "", info)
	t.add("init", "invocation", r.invocation, "", info)
}

func addSize(t *table, r sizeResult) {
	for _, b := range r.builds {
		v := info
		target := ""
		if b.arch == "arm64" {
			v, target = judge(float64(b.bytes) <= maxBinaryBytes), fmt.Sprintf("<= %g MB", maxBinaryBytes/1e6)
		}
		t.add("size", "bootstrap linux/"+b.arch, fmt.Sprintf("%s (%d bytes)", megabytes(b.bytes), b.bytes), target, v)
	}
}

func addMemory(t *table, o options, r memResult) {
	limit := "no GOMEMLIMIT"
	if o.memLimit != "" {
		limit = "GOMEMLIMIT=" + o.memLimit
	}
	t.add("memory", fmt.Sprintf("peak RSS (VmHWM), %d numbers, %s store, %s", o.memNumbers, o.memStore, limit), megabytes(r.VmHWMBytes),
		fmt.Sprintf("<= %g MB", maxPeakBytes/1e6), judge(float64(r.VmHWMBytes) <= maxPeakBytes))
	t.add("memory", "RSS at start (runtime and package init)", megabytes(r.StartRSSBytes), "", info)
	t.add("memory", "peak Go heap (objects, sampled)", megabytes(r.PeakHeapBytes), "", info)
	t.add("memory", "peak Go runtime memory, not released", megabytes(r.PeakRuntimeBytes), "", info)
	checked := make([]string, len(r.Rounds))
	for i, rd := range r.Rounds {
		checked[i] = fmt.Sprintf("%d in %.1f s", rd.Checked, rd.Seconds)
	}
	t.add("memory", "runs (first from empty state)", strings.Join(checked, ", "), fmt.Sprintf("%d each", o.memNumbers),
		judge(r.allChecked(o.memNumbers)))
}

// median of xs (the mean of the middle two for an even count); xs is not changed.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 0 {
		return (s[m-1] + s[m]) / 2
	}
	return s[m]
}
