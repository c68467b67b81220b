package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/testenv"
)

// partitionRegions are one Region of each partition: aws, aws-us-gov, aws-cn.
var partitionRegions = []string{"us-east-1", "us-gov-west-1", "cn-north-1"}

// stackSetTemplate generates the StackSet template from template.yaml, as make
// stackset-template does, and returns it with its path in a temporary folder.
func stackSetTemplate(t *testing.T) (cfnTemplate, string) {
	t.Helper()
	sam, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := StackSetTemplate(sam)
	if err != nil {
		t.Fatalf("StackSetTemplate: %v", err)
	}
	path := filepath.Join(t.TempDir(), "phonewatch-stackset.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	var tpl cfnTemplate
	if err := json.Unmarshal(out, &tpl); err != nil {
		t.Fatalf("StackSet template: %v", err)
	}
	// --template-body takes at most 51,200 bytes; past that, --template-url (organization.md).
	if len(out) > 51200 {
		t.Logf("StackSet template is %d bytes: upload it and use --template-url", len(out))
	}
	return tpl, path
}

// references returns every name the template references: Ref, Fn::GetAtt's resource, and
// each ${Name} of an Fn::Sub.
func references(v any) map[string]bool {
	out := map[string]bool{}
	var visit func(v any)
	visit = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				switch k {
				case "Ref":
					if s, ok := e.(string); ok {
						out[s] = true
					}
				case "Fn::Sub":
					text := e
					if l, ok := e.([]any); ok && len(l) > 0 {
						text = l[0]
					}
					if s, ok := text.(string); ok {
						for _, m := range subVar.FindAllStringSubmatch(s, -1) {
							out[strings.Split(m[1], ".")[0]] = true
						}
					}
				}
				visit(e)
			}
		case []any:
			for _, e := range v {
				visit(e)
			}
		}
	}
	visit(v)
	return out
}

// TestStackSetTemplate checks the plain template a StackSet deploys: no SAM left, the same
// resources SAM's own transform makes (less the Slack channel), and every parameter still a
// parameter: SAM's transform had fixed the function's event age at the 5-minute row.
func TestStackSetTemplate(t *testing.T) {
	plain, _ := stackSetTemplate(t)
	sam := loadTemplate(t)
	for id, r := range plain.Resources {
		if strings.HasPrefix(r.Type, "AWS::Serverless::") {
			t.Errorf("StackSet template: %s is still a %s", id, r.Type)
		}
	}

	// Every parameter is used by something (a value resolved away would leave its parameter
	// unreferenced), and every parameter of template.yaml is there but Slack's.
	var all []any
	for _, r := range plain.Resources {
		all = append(all, r.Properties)
	}
	for _, o := range plain.Outputs {
		all = append(all, o)
	}
	all = append(all, plain.Conditions)
	used := references(all)
	for name := range plain.Parameters {
		if !used[name] {
			t.Errorf("StackSet template: parameter %s is not referenced: its value would be fixed", name)
		}
	}
	for name := range sam.Parameters {
		if _, ok := plain.Parameters[name]; !ok && !slackOnly[name] {
			t.Errorf("StackSet template lost parameter %s", name)
		}
	}
	for _, want := range []string{CodeBucketPrefix, CodeKey} {
		if _, ok := plain.Parameters[want]; !ok {
			t.Errorf("StackSet template has no parameter %s", want)
		}
	}

	// The period-driven values read SchedulePeriodMinutes where they are used.
	fromMap := func(field string) string {
		return asJSON(map[string]any{"Fn::FindInMap": []any{"SchedulePeriod", map[string]any{"Ref": "SchedulePeriodMinutes"}, field}})
	}
	if got := asJSON(dig(plain.invokeConfig(t), "MaximumEventAgeInSeconds")); got != fromMap("RetrySeconds") {
		t.Errorf("StackSet template: event age %s, want %s", got, fromMap("RetrySeconds"))
	}
	var schedules int
	for id, r := range plain.Resources {
		if r.Type != "AWS::Scheduler::Schedule" {
			continue
		}
		schedules++
		for path, want := range map[string]string{
			"ScheduleExpression":                          fromMap("Expression"),
			"Target.RetryPolicy.MaximumEventAgeInSeconds": fromMap("RetrySeconds"),
			"Target.Arn":                                  asJSON(map[string]any{"Fn::GetAtt": []any{functionID, "Arn"}}),
			"Target.RoleArn":                              asJSON(map[string]any{"Fn::GetAtt": []any{"ScheduleRole", "Arn"}}),
		} {
			if got := asJSON(dig(r.Properties, strings.Split(path, ".")...)); got != want {
				t.Errorf("StackSet schedule %s: %s = %s, want %s", id, path, got, want)
			}
		}
	}
	if schedules != 1 {
		t.Errorf("StackSet template has %d schedules, want 1", schedules)
	}
	fn := plain.resource(t, functionID)
	if got, want := asJSON(dig(fn.Properties, "Code", "S3Bucket")), `{"Fn::Sub":"${CodeBucketPrefix}-${AWS::Region}"}`; got != want {
		t.Errorf("StackSet function code bucket %s, want %s (one bucket per Region, named by rule)", got, want)
	}
	if got, want := asJSON(fn.Properties["Timeout"]), fromMap("TimeoutSeconds"); got != want {
		t.Errorf("StackSet function Timeout %s, want %s", got, want)
	}

	// The same resources, of the same types, as SAM's own transform, less the Slack channel.
	bySAM := transformed(t)
	for id, r := range bySAM.Resources {
		if slackOnly[r.Condition] {
			continue
		}
		if got := plain.Resources[id].Type; got != r.Type {
			t.Errorf("SAM's transform makes %s a %s, the StackSet template %q", id, r.Type, got)
		}
	}
	for id := range plain.Resources {
		if _, ok := bySAM.Resources[id]; !ok {
			t.Errorf("StackSet template has %s, which SAM's transform does not make", id)
		}
	}
}

// TestStackSetTemplateRefusesWhatItDoesNotKnow: a SAM property the conversion does not know
// is an error, not silently dropped.
func TestStackSetTemplateRefusesWhatItDoesNotKnow(t *testing.T) {
	for name, sam := range map[string]string{
		"function property": "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: ., AutoPublishAlias: live}\n",
		"event type":        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n      Events: {E: {Type: SQS, Properties: {}}}\n",
		"generated role":    "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n      Events: {E: {Type: ScheduleV2, Properties: {ScheduleExpression: rate(5 minutes)}}}\n",
		"other SAM type":    "Resources:\n  A:\n    Type: AWS::Serverless::Api\n    Properties: {}\n",
	} {
		tpl := "Parameters: {P: {Type: String}}\n" + sam
		if out, err := StackSetTemplate([]byte(tpl)); err == nil {
			t.Errorf("%s: converted without error:\n%s", name, out)
		}
	}
}

// TestCfnLintPartitions lints the StackSet template in one Region of each partition, where it
// must be clean, and template.yaml there, whose only finding must be the Slack channel's type,
// which does not exist in aws-us-gov and aws-cn: docs/organization.md and docs/deploy.md say
// so (template.yaml is for the aws partition; the StackSet template for all three).
func TestCfnLintPartitions(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		testenv.Missing(t, "cfn-lint", "pip install cfn-lint")
	}
	_, plainPath := stackSetTemplate(t)
	run := func(file string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		args := append([]string{"--format", "parseable", "--regions"}, partitionRegions...)
		cmd := exec.CommandContext(ctx, bin, append(args, "--", file)...)
		cmd.Dir = root
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return out.String(), 0
		case errors.As(err, &exit):
			return out.String(), exit.ExitCode()
		}
		t.Fatalf("run cfn-lint: %v\n%s", err, out.String())
		return "", 0
	}
	if out, code := run(plainPath); code != 0 {
		t.Errorf("cfn-lint --regions %v StackSet template exited %d:\n%s", partitionRegions, code, out)
	}
	out, _ := run("template.yaml")
	// parseable: file:line:col:endline:endcol:rule:message
	only := regexp.MustCompile(`^[^:]*:\d+:\d+:\d+:\d+:E3006:Resource type 'AWS::Chatbot::SlackChannelConfiguration' does not exist in '(us-gov-west-1|cn-north-1)'$`)
	var regions []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		m := only.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("cfn-lint --regions %v template.yaml: unexpected finding %q", partitionRegions, line)
			continue
		}
		regions = append(regions, m[1])
	}
	if slices.Sort(regions); !slices.Equal(regions, []string{"cn-north-1", "us-gov-west-1"}) {
		t.Errorf("template.yaml's Slack channel flagged in %v, want exactly cn-north-1 and us-gov-west-1 (if Chatbot arrived there, update the docs)", regions)
	}
}
