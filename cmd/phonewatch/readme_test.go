package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeSkipped are the README's shell examples this test does not run, and why: everything
// else runs, in the order printed.
var readmeSkipped = map[string]string{
	"make test":   "it is the command running this test",
	"make deploy": "it needs an AWS account (docs/deploy.md)",
}

// example is one line of a ```sh block: the command, and its comment.
type example struct {
	line         int
	cmd, comment string
}

// readmeExamples returns the README's shell examples, in order.
func readmeExamples(t *testing.T, readme []byte) []example {
	t.Helper()
	var out []example
	in := false
	sc := bufio.NewScanner(bytes.NewReader(readme))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```"):
			in = !in && (line == "```sh" || line == "```bash")
		case in && strings.TrimSpace(line) != "":
			cmd, comment, _ := strings.Cut(line, "#")
			out = append(out, example{n, strings.TrimSpace(cmd), strings.TrimSpace(comment)})
		}
	}
	if len(out) == 0 {
		t.Fatal("no ```sh examples found in README.md")
	}
	return out
}

// copyRepo copies the repository's tracked files into a temporary directory, so that the
// walk starts from a fresh checkout (no local state) and leaves the real one alone.
func copyRepo(t *testing.T) string {
	t.Helper()
	files, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("git ls-files: %v (the walk needs the repository's file list)", err)
	}
	dir := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestReadmeWalk runs every shell example the README prints, in the order printed, in a fresh
// copy of the repository, as a new user would: each must succeed; an example whose comment
// names a notification ([STUCK], [REMINDER] ...) must print it; and the first `make run`
// must print every line the README shows for it.
func TestReadmeWalk(t *testing.T) {
	if testing.Short() {
		t.Skip("runs make and go run")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := copyRepo(t)
	env := walkEnv()
	ran := 0
	for _, ex := range readmeExamples(t, readme) {
		if why, ok := readmeSkipped[ex.cmd]; ok {
			t.Logf("README.md:%d: %s: not run: %s", ex.line, ex.cmd, why)
			continue
		}
		cmd := exec.Command("bash", "-eo", "pipefail", "-c", ex.cmd)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README.md:%d: %s: %v\n%s", ex.line, ex.cmd, err, out)
		}
		if m := regexp.MustCompile(`^\[([A-Z]+)\]`).FindStringSubmatch(ex.comment); m != nil &&
			!strings.Contains(string(out), "Subject: ["+m[1]+"]") && !strings.Contains(string(out), `"event":"`+m[1]+`"`) {
			t.Errorf("README.md:%d: %s: says %s, printed:\n%s", ex.line, ex.cmd, m[0], out)
		}
		if ran == 0 {
			for _, line := range shownOutput(t, readme) {
				if !line.MatchString(string(out)) {
					t.Errorf("README.md shows a line matching %s for the first %s; it printed:\n%s", line, ex.cmd, out)
				}
			}
		}
		ran++
	}
	if ran < 5 {
		t.Errorf("ran %d examples: the README's walk is gone?", ran)
	}
}

// shownOutput is the README's first shown output (the ```text block after "as an email reader
// would see it"), as one pattern per line: "…" stands for what the README leaves out of a line,
// and a line "..." for lines left out.
func shownOutput(t *testing.T, readme []byte) []*regexp.Regexp {
	t.Helper()
	m := regexp.MustCompile("(?s)as an email reader would see it:\n\n```text\n(.*?)\n```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md: the first run's output is not shown")
	}
	var out []*regexp.Regexp
	for _, line := range strings.Split(string(m[1]), "\n") {
		if line == "..." || strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.Split(line, "…")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		out = append(out, regexp.MustCompile("(?m)^"+strings.Join(parts, ".*?")+"$"))
	}
	return out
}

// walkEnv is the environment of a new user: no phonewatch variables, no AWS, the Go caches kept.
func walkEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), k == "MAKEFLAGS", k == "MAKELEVEL", k == "MFLAGS":
			continue
		case slices.Contains(strings.Fields("STATE_TABLE TOPIC_ARN TARGET_ARNS PHONE_NUMBER_IDS RETRY_WINDOW REMINDERS "+
			"STUCK_AFTER NOTIFY_RECOVERY CLOUDTRAIL DISPLAY_TIMEZONE SWEEP_EVERY CONNECT_RPS CONNECT_BURST"), k):
			continue
		}
		env = append(env, kv)
	}
	return append(env, "AWS_EC2_METADATA_DISABLED=true")
}

// TestReadmeMachineJSON: the machine JSON the README shows is what the sample run sends, field
// for field (a value shortened with "…" must match at both ends), with no field left out.
func TestReadmeMachineJSON(t *testing.T) {
	isolate(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)machine JSON, schema version `\"1\"`:\n *```json\n(.*?)\n *```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md: no machine JSON example found")
	}
	var shown map[string]any
	if err := json.Unmarshal(m[1], &shown); err != nil {
		t.Fatalf("README.md's machine JSON example is not JSON: %v\n%s", err, m[1])
	}
	out, errOut, code := checkSample(t, filepath.Join(t.TempDir(), "state.json"), "--json",
		"--cloudtrail", filepath.Join(repoRoot, "testdata/sample-cloudtrail.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var sent map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &sent); err != nil {
		t.Fatal(err)
	}
	compareShown(t, "", shown, sent)
}

// compareShown reports where shown (the README) differs from sent.
func compareShown(t *testing.T, path string, shown, sent map[string]any) {
	t.Helper()
	for k := range sent {
		if _, ok := shown[k]; !ok {
			t.Errorf("README.md's machine JSON leaves out %s%s", path, k)
		}
	}
	for k, v := range shown {
		got, ok := sent[k]
		switch sv := v.(type) {
		case map[string]any:
			gm, _ := got.(map[string]any)
			compareShown(t, path+k+".", sv, gm)
			continue
		case string:
			gs, _ := got.(string)
			if head, tail, cut := strings.Cut(sv, "…"); cut && strings.HasPrefix(gs, head) && strings.HasSuffix(gs, tail) {
				continue
			}
		}
		if !ok || !reflect.DeepEqual(v, got) {
			t.Errorf("README.md shows %s%s = %v; the sample run sends %v", path, k, v, got)
		}
	}
}
