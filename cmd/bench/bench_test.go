package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestParseInit reads the init time from RIE output as two RIE generations print it.
func TestParseInit(t *testing.T) {
	testCases := []struct {
		name    string
		lines   []string
		want    float64
		wantErr bool
	}{
		{
			name: "INIT REPORT wins over a REPORT Init Duration that times only the reservation",
			lines: []string{
				"26 Nov 2026 06:55:59,498 [INFO] (rapid) INIT START(type: on-demand, phase: init)",
				"26 Nov 2026 06:55:59,520 [INFO] (rapid) INIT REPORT(durationMs: 22.456000)",
				"REPORT RequestId: a6b7\tInit Duration: 0.03 ms\tDuration: 24.08 ms\tBilled Duration: 25 ms\t",
			},
			want: 22.456,
		},
		{
			name:  "older RIE: only the REPORT line",
			lines: []string{"START RequestId: x", "REPORT RequestId: x\tInit Duration: 7.50 ms\tDuration: 1.00 ms\t"},
			want:  7.5,
		},
		{
			name:    "neither",
			lines:   []string{"START RequestId: x", "REPORT RequestId: x\tDuration: 1.00 ms\t"},
			wantErr: true,
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseInit(tc.lines)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseInit = %v, %v; want %v, error %t", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	testCases := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{9}, 9},
		{[]float64{30, 10, 20}, 20},
		{[]float64{4, 1, 3, 2}, 2.5},
		{nil, 0},
	}
	for _, tc := range testCases {
		in := fmt.Sprint(tc.xs)
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
		if fmt.Sprint(tc.xs) != in {
			t.Errorf("median reordered its input: %v, was %s", tc.xs, in)
		}
	}
}

// TestDescribeAnswer sums up the handler's answers under the RIE: a run summary or an error.
func TestDescribeAnswer(t *testing.T) {
	testCases := []struct {
		name, body, want string
	}{
		{
			"summary",
			`{"checked":3,"statuses":{"CLAIMED":1},"notificationsSent":1,"errors":[],"complete":true,"durationMs":40}`,
			"ok: checked 3, 1 notifications sent, 0 errors, complete true",
		},
		{"function error", `{"errorMessage":"rejected event: unknown field","errorType":"wrapError"}`, "error: rejected event: unknown field"},
		{"long function error", `{"errorMessage":"` + strings.Repeat("x", 100) + `"}`, "error: " + strings.Repeat("x", 60)},
		{"not JSON", "bad gateway\n", "HTTP 502: bad gateway"},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			code := 200
			if tc.name == "not JSON" {
				code = 502
			}
			if got := describeAnswer(code, []byte(tc.body)); got != tc.want {
				t.Errorf("describeAnswer = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLineLog splits writes of any shape into lines, as the RIE's two streams deliver them.
func TestLineLog(t *testing.T) {
	l := &lineLog{}
	for _, chunk := range []string{"INIT REP", "ORT(durationMs: 1.0)\nSTART\nREPORT Req", "uestId: x\n", "tail without newline"} {
		if _, err := io.WriteString(l, chunk); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"INIT REPORT(durationMs: 1.0)", "START", "REPORT RequestId: x"}
	if got := l.all(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines = %q, want %q", got, want)
	}
	if !l.waitFor("REPORT RequestId", 0) || l.waitFor("tail", 0) {
		t.Error("waitFor must see complete lines only")
	}
}

// TestProcStatus reads this process's own RSS and peak RSS: at least what it just touched,
// and the peak no less than the current; an unknown field is an error.
func TestProcStatus(t *testing.T) {
	big := bytes.Repeat([]byte{1}, 32<<20) // touched, so resident
	rss, err := procStatus("VmRSS")
	if err != nil {
		t.Fatal(err)
	}
	hwm, err := procStatus("VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	if rss < int64(len(big)) || hwm < rss {
		t.Errorf("VmRSS = %d, VmHWM = %d bytes; want VmHWM >= VmRSS >= the %d just touched", rss, hwm, len(big))
	}
	if _, err := procStatus("VmNoSuchField"); err == nil {
		t.Error("procStatus of an unknown field: no error")
	}
}

// TestTable: a missed target is named, info and error rows never are, and the table prints
// every row.
func TestTable(t *testing.T) {
	tb := &table{}
	tb.add("init", "median", "25.0 ms", "<= 20 ms", judge(25 <= maxInitMs))
	tb.add("size", "bootstrap linux/arm64", "11.0 MB", "<= 15 MB", judge(11e6 <= maxBinaryBytes))
	tb.add("size", "bootstrap linux/amd64", "12.0 MB", "", info)
	tb.add("memory", "error", "memory child: exit status 1", "", broken)
	missed := tb.missed()
	if len(missed) != 1 || !strings.Contains(missed[0], "init median = 25.0 ms (target <= 20 ms)") {
		t.Errorf("missed = %q, want only the init row", missed)
	}
	var out bytes.Buffer
	tb.print(&out)
	for _, want := range []string{"MISSED", "ok", "linux/amd64", "ERROR"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestParseOptions: the defaults are the figures, and bad values are refused.
func TestParseOptions(t *testing.T) {
	o, _, ok := parseOptions(nil, io.Discard)
	if !ok || o.n != 600 || o.rps != 100 || o.burst != 10 || o.latency.String() != "25ms" || o.memNumbers != 10000 {
		t.Errorf("defaults = %+v, want N=600, R=100, burst 10, 25ms, 10000 numbers for memory", o)
	}
	for _, args := range [][]string{{"--only", "pacing,speed"}, {"--only", "sweep,costs"}, {"--burst", "0"}, {"--rps", "-1"}, {"extra"}} {
		var stderr bytes.Buffer
		if _, code, ok := parseOptions(args, &stderr); ok || code != 2 || stderr.Len() == 0 {
			t.Errorf("parseOptions(%q): ok %t, code %d, message %q; want refused with exit 2 and a message", args, ok, code, stderr.String())
		}
	}
}
