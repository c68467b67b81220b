package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDeployGuideMatchesTemplate: docs/deploy.md is read in order by someone deploying for the
// first time, so what it says the stack creates is what template.yaml creates: every alarm in
// the resource table and in the alarm table, the count of alarms in words, and every output in
// the list printed after the deploy.
func TestDeployGuideMatchesTemplate(t *testing.T) {
	tpl := loadTemplate(t)
	b, err := os.ReadFile(filepath.Join(root, "docs/deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(b)
	var alarms []string
	for name, r := range tpl.Resources {
		if r.Type == "AWS::CloudWatch::Alarm" {
			alarms = append(alarms, name)
		}
	}
	slices.Sort(alarms)
	deployed := section(t, guide, "## What gets deployed")
	watcher := section(t, guide, "## The watcher that watches itself")
	for _, a := range alarms {
		if !strings.Contains(deployed, "`"+a+"`") {
			t.Errorf("docs/deploy.md, What gets deployed: alarm %s missing", a)
		}
		if !regexp.MustCompile("(?m)^\\| `" + a + "` \\|").MatchString(watcher) {
			t.Errorf("docs/deploy.md, The watcher that watches itself: no row for alarm %s", a)
		}
	}
	words := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
	if n := len(alarms); n < len(words) && !strings.Contains(watcher, strings.ToUpper(words[n][:1])+words[n][1:]+" alarms publish") {
		t.Errorf("docs/deploy.md does not say %q alarms publish (the template has %d: %v)", words[n], n, alarms)
	}
	outputs := section(t, guide, "## Build and deploy")
	for name := range tpl.Outputs {
		if !strings.Contains(outputs, "`"+name+"`") {
			t.Errorf("docs/deploy.md, Build and deploy: output %s missing from the list SAM prints", name)
		}
	}
}

// section is the text of the markdown section that starts with heading, up to the next one of
// the same level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("docs/deploy.md has no %q", heading)
	}
	rest := doc[i+len(heading)+2:]
	level := heading[:strings.IndexByte(heading, ' ')+1]
	if j := strings.Index(rest, "\n"+level); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
