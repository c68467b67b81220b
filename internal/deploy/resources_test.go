package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/testenv"
)

// schemaFact is what CloudFormation's resource schema says about a resource type.
type schemaFact struct {
	Tags       bool     `json:"tags"`
	CreateOnly []string `json:"createOnly"`
}

// schemaFacts reads the resource schemas that cfn-lint ships (CloudFormation's own registry
// schemas): which types take Tags, and which properties force a replacement.
func schemaFacts(t *testing.T, types []string) map[string]schemaFact {
	t.Helper()
	if _, err := exec.LookPath("cfn-lint"); err != nil {
		testenv.Missing(t, "cfn-lint", "pip install cfn-lint")
	}
	const script = `
import json, sys
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER as m
out = {}
for t in json.load(sys.stdin):
    s = m.get_resource_schema("us-east-1", t).schema
    out[t] = {"tags": "Tags" in s.get("properties", {}),
              "createOnly": [p.removeprefix("/properties/") for p in s.get("createOnlyProperties", [])]}
print(json.dumps(out))
`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", "-c", script)
	in, _ := json.Marshal(types)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		testenv.Missing(t, "cfn-lint's schemas through python3 ("+err.Error()+")", "pip install cfn-lint")
	}
	facts := map[string]schemaFact{}
	if err := json.Unmarshal(out, &facts); err != nil {
		t.Fatalf("schema facts: %v\n%s", err, out)
	}
	return facts
}

// TestCentralTopicMode checks the organisation mode (docs/organization.md): with
// CentralTopicArn set, the stack creates no topic, key, policy or subscription of its own, and
// the function and every alarm use the central topic; with it empty, the stack has its own.
func TestCentralTopicMode(t *testing.T) {
	ownOnly := []string{"AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "AWS::SNS::Subscription", "AWS::KMS::Key",
		"AWS::KMS::Alias", "AWS::Chatbot::SlackChannelConfiguration"}
	everything := map[string]string{"NotificationEmail": "oncall@example.com", "SlackWorkspaceId": "T0123ABCD", "SlackChannelId": "C0123ABCD"}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			m := m.with("NotificationEmail", everything["NotificationEmail"], "SlackWorkspaceId", everything["SlackWorkspaceId"],
				"SlackChannelId", everything["SlackChannelId"])
			tpl := deployed(t, m)
			central := m.params["CentralTopicArn"] != ""
			have := map[string]bool{}
			for _, r := range tpl.Resources {
				have[r.Type] = true
			}
			for _, typ := range ownOnly {
				if have[typ] == central {
					t.Errorf("central topic %v: the stack has a %s: %v, want %v", central, typ, have[typ], !central)
				}
			}
			topic := tpl.environment(t)[config.TopicARN]
			wantTopic := asJSON(map[string]any{"Ref": "NotificationTopic"})
			if central {
				wantTopic = asJSON(map[string]any{"Ref": "CentralTopicArn"})
			}
			if asJSON(topic) != wantTopic {
				t.Errorf("TOPIC_ARN = %s, want %s", asJSON(topic), wantTopic)
			}
			if got := asJSON(tpl.Outputs["TopicArn"]["Value"]); got != wantTopic {
				t.Errorf("output TopicArn = %s, want %s", got, wantTopic)
			}
		})
	}
}

// slackMode is the own-topic mode with a Slack channel.
var slackMode = ownTopic.with("SlackWorkspaceId", "T0123ABCD", "SlackChannelId", "C0123ABCD")

// TestSlackChannelName: Chatbot is global, so the configuration name must differ between two
// stacks (of the same name, in a traffic distribution group's two Regions), fit Chatbot's 128
// characters with the longest values the parameters allow, and change with every create-only
// property, or a replacement would be created under the name of the one it replaces.
func TestSlackChannelName(t *testing.T) {
	tpl := loadTemplate(t)
	id := "SlackChannel"
	name := func(m mode) string {
		r := deployed(t, m).resource(t, id)
		return evalString(t, r.Properties["ConfigurationName"], tpl.values(m))
	}
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

	longest := slackMode.with("SlackWorkspaceId", strings.Repeat("T", int(tpl.Parameters["SlackWorkspaceId"].MaxLength)),
		"SlackChannelId", strings.Repeat("C", int(tpl.Parameters["SlackChannelId"].MaxLength)),
		"AWS::Region", "ap-southeast-5", "AWS::StackName", strings.Repeat("s", 128),
		"AWS::StackId", "arn:aws:cloudformation:ap-southeast-5:444455556666:stack/"+strings.Repeat("s", 128)+"/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
	if tpl.Parameters["SlackWorkspaceId"].MaxLength == 0 || tpl.Parameters["SlackChannelId"].MaxLength == 0 {
		t.Errorf("SlackWorkspaceId and SlackChannelId need a MaxLength, or the name has no bound")
	}
	for _, m := range []mode{slackMode, longest} {
		if n := name(m); !valid.MatchString(n) {
			t.Errorf("ConfigurationName %q (%d characters) is not 1-128 of [A-Za-z0-9_-]", n, len(n))
		}
	}

	base := name(slackMode)
	otherRegion := slackMode.with("AWS::Region", "us-east-1",
		"AWS::StackId", "arn:aws:cloudformation:us-east-1:444455556666:stack/phonewatch/9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a")
	if name(otherRegion) == base {
		t.Errorf("the same stack name in another Region gives the same ConfigurationName %q", base)
	}
	facts := schemaFacts(t, []string{"AWS::Chatbot::SlackChannelConfiguration"})["AWS::Chatbot::SlackChannelConfiguration"]
	for _, prop := range facts.CreateOnly {
		if prop == "ConfigurationName" {
			continue
		}
		param := refTo(tpl.resource(t, id).Properties[prop], "")
		if param == "" {
			t.Errorf("%s: create-only %s should come from a parameter", id, prop)
			continue
		}
		if changed := name(slackMode.with(param, "T9999ZZZZ")); changed == base {
			t.Errorf("%s: a new %s replaces the configuration but keeps the name %q: CloudFormation would refuse", id, prop, base)
		}
	}
}

// TestSlackChannelPermissions: the channel's role has one minimal policy, no AWS managed
// policy (CloudWatchReadOnlyAccess would let channel members read every log group), and the
// guardrail is that same policy.
func TestSlackChannelPermissions(t *testing.T) {
	tpl := deployed(t, slackMode)
	ch := tpl.resource(t, "SlackChannel")
	role := refTo(ch.Properties["IamRoleArn"], "Arn")
	if role == "" {
		t.Fatalf("SlackChannel IamRoleArn = %s, want a role of this template", asJSON(ch.Properties["IamRoleArn"]))
	}
	r := tpl.resource(t, role)
	if r.Properties["ManagedPolicyArns"] != nil || r.Properties["Policies"] != nil {
		t.Errorf("role %s has ManagedPolicyArns %s / Policies %s: want only the channel's own policy",
			role, asJSON(r.Properties["ManagedPolicyArns"]), asJSON(r.Properties["Policies"]))
	}
	var attached []string
	for id, res := range tpl.Resources {
		if res.Type == "AWS::IAM::ManagedPolicy" && slices.ContainsFunc(asList(res.Properties["Roles"]), func(v any) bool { return refTo(v, "") == role }) {
			attached = append(attached, id)
		}
		if (res.Type == "AWS::IAM::Policy" || res.Type == "AWS::IAM::RolePolicy") && strings.Contains(asJSON(res.Properties), `{"Ref":"`+role+`"}`) {
			t.Errorf("%s grants %s more than its guardrail", id, role)
		}
	}
	if len(attached) != 1 {
		t.Fatalf("role %s has managed policies %v of this template, want exactly one", role, attached)
	}
	policy := attached[0]
	if got, want := asJSON(ch.Properties["GuardrailPolicies"]), asJSON([]any{map[string]any{"Ref": policy}}); got != want {
		t.Errorf("GuardrailPolicies = %s, want %s (the role's own policy)", got, want)
	}
	allowed := map[string]string{
		"cloudwatch:DescribeAlarms":       `{"Fn::Sub":"arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}`,
		"cloudwatch:GetMetricWidgetImage": `"*"`, // no resource-level permission
	}
	for _, s := range asList(dig(tpl.resource(t, policy).Properties, "PolicyDocument", "Statement")) {
		for _, a := range asList(dig(s, "Action")) {
			want, ok := allowed[a.(string)]
			if !ok || dig(s, "Effect") != "Allow" || asJSON(dig(s, "Resource")) != want {
				t.Errorf("%s: %s on %s is not among the minimal %v", policy, a, asJSON(dig(s, "Resource")), allowed)
			}
		}
	}
}

// TestSlackWhereChatbotIs: no channel configuration where Chatbot does not exist (another
// partition), and Chatbot's own log group, with a retention, only where Chatbot writes it
// (us-east-1, whatever the channel's Region) and named after the configuration.
func TestSlackWhereChatbotIs(t *testing.T) {
	if _, ok := deployed(t, slackMode.with("AWS::Partition", "aws-cn")).Resources["SlackChannel"]; ok {
		t.Error("a stack in aws-cn would create a Chatbot configuration, which fails there")
	}
	for region, want := range map[string]bool{"us-east-1": true, "eu-west-1": false} {
		m := slackMode.with("AWS::Region", region)
		tpl := deployed(t, m)
		var groups []cfnResource
		for _, r := range tpl.Resources {
			if r.Type == "AWS::Logs::LogGroup" && strings.HasPrefix(evalString(t, r.Properties["LogGroupName"], tpl.values(m)), "/aws/chatbot/") {
				groups = append(groups, r)
			}
		}
		if (len(groups) == 1) != want || len(groups) > 1 {
			t.Errorf("stack in %s has %d Chatbot log groups, want %v", region, len(groups), want)
			continue
		}
		if want {
			name := evalString(t, tpl.resource(t, "SlackChannel").Properties["ConfigurationName"], tpl.values(m))
			if got := evalString(t, groups[0].Properties["LogGroupName"], tpl.values(m)); got != "/aws/chatbot/"+name {
				t.Errorf("Chatbot log group %q, want /aws/chatbot/%s", got, name)
			}
			if groups[0].Properties["RetentionInDays"] == nil {
				t.Error("Chatbot log group has no RetentionInDays")
			}
		}
	}
}

// TestTags: every resource whose type takes tags (by CloudFormation's schema) carries the
// application and stage tags, in every mode; the function passes them to what SAM generates.
func TestTags(t *testing.T) {
	wantTags := `[{"Key":"application","Value":"phonewatch"},{"Key":"stage","Value":{"Ref":"Stage"}}]`
	for _, m := range []mode{slackMode.with("NotificationEmail", "a@example.com", "AWS::Region", "us-east-1"), centralEncrypted} {
		t.Run(m.name, func(t *testing.T) {
			tpl := deployed(t, m)
			var types []string
			for _, r := range tpl.Resources {
				if !strings.HasPrefix(r.Type, "AWS::Serverless::") && !slices.Contains(types, r.Type) {
					types = append(types, r.Type)
				}
			}
			facts := schemaFacts(t, types)
			for id, r := range tpl.Resources {
				if r.Type == "AWS::Serverless::Function" {
					if got := asJSON(r.Properties["Tags"]); got != `{"application":"phonewatch","stage":{"Ref":"Stage"}}` || r.Properties["PropagateTags"] != true {
						t.Errorf("%s: Tags %s, PropagateTags %v: want both tags, propagated", id, got, r.Properties["PropagateTags"])
					}
					continue
				}
				if facts[r.Type].Tags && asJSON(r.Properties["Tags"]) != wantTags {
					t.Errorf("%s (%s) takes tags but has %s, want %s", id, r.Type, asJSON(r.Properties["Tags"]), wantTags)
				}
			}
		})
	}
}

// TestDashboard reads the dashboard as CloudWatch would (the JSON of its body, with the
// references filled in): a graph for each metric the handler and monitor emit, Lambda's
// duration, and the state of every alarm of the stack.
func TestDashboard(t *testing.T) {
	tpl := deployed(t, ownTopic)
	var body string
	for id, r := range tpl.Resources {
		if r.Type == "AWS::CloudWatch::Dashboard" {
			if body != "" {
				t.Fatalf("more than one dashboard (%s)", id)
			}
			body = evalString(t, r.Properties["DashboardBody"], tpl.values(ownTopic))
		}
	}
	if body == "" {
		t.Fatal("template has no AWS::CloudWatch::Dashboard")
	}
	// A FindInMap (the period) became text; CloudWatch gets a number there.
	body = regexp.MustCompile(`<FindInMap [A-Za-z]+>`).ReplaceAllString(body, "300")
	var dash struct {
		Widgets []struct {
			Type       string
			Properties struct {
				Alarms  []string
				Metrics [][]any
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &dash); err != nil {
		t.Fatalf("dashboard body is not JSON: %v\n%s", err, body)
	}
	graphed, alarms := map[string]bool{}, map[string]bool{}
	fnName := "<" + functionID + ">"
	for _, w := range dash.Widgets {
		for _, a := range w.Properties.Alarms {
			alarms[a] = true
		}
		for _, m := range w.Properties.Metrics {
			if len(m) < 4 || m[2] != "FunctionName" || m[3] != fnName {
				t.Errorf("metric %v is not of this function (%s)", m, fnName)
				continue
			}
			graphed[m[0].(string)+"/"+m[1].(string)] = true
		}
	}
	for _, name := range []string{"Checked", "Failed", "InProgress", "NotificationsSent", "Errors",
		"HoursToNearestDeadline", "ScheduledRuns", "Unchanged", "SweepPending", "CloudTrailOperations",
		"CloudTrailFailed", "InvalidRecords", "UnconfirmedPublishes"} {
		if !graphed["PhoneWatch/"+name] {
			t.Errorf("the dashboard has no graph of PhoneWatch %s", name)
		}
	}
	if !graphed["AWS/Lambda/Duration"] {
		t.Error("the dashboard has no graph of the function's duration")
	}
	for id, r := range tpl.Resources {
		if r.Type == "AWS::CloudWatch::Alarm" && !alarms["<"+id+".Arn>"] {
			t.Errorf("the dashboard does not show alarm %s", id)
		}
	}
}

// TestMakefilePinsArm64: `sam build` runs build-PhoneWatchFunction for the arm64 function,
// whatever GOARCH the shell exports or make is given (an x86 bootstrap would not start).
func TestMakefilePinsArm64(t *testing.T) {
	make, err := exec.LookPath("make")
	if err != nil {
		testenv.Missing(t, "make", "install make")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, make, "-n", "build-"+functionID, "ARTIFACTS_DIR=/tmp/artifacts", "GOARCH=amd64")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOARCH=amd64")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build-%s: %v\n%s", functionID, err, out)
	}
	if !strings.Contains(string(out), "GOARCH=arm64") || strings.Contains(string(out), "amd64") {
		t.Errorf("with GOARCH=amd64, build-%s runs:\n%s\nwant GOARCH=arm64 only", functionID, out)
	}
}

// transformed is the template after the AWS::Serverless transform, as cfn-lint runs it (the
// same SAM translator CloudFormation runs): the resources SAM generates, with their tags.
func transformed(t *testing.T) cfnTemplate {
	t.Helper()
	if _, err := exec.LookPath("cfn-lint"); err != nil {
		testenv.Missing(t, "cfn-lint", "pip install cfn-lint")
	}
	const script = `
import json, sys
from cfnlint.decode import decode
from cfnlint.template.transforms._sam import Transform
tpl, matches = decode(sys.argv[1])
if matches:
    sys.exit("decode: %s" % matches)
t = Transform(sys.argv[1], tpl, "us-east-1")
t.transform_template()
print(json.dumps(t._template, default=str))
`
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", "-c", script, "template.yaml")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		testenv.Missing(t, "cfn-lint's SAM transform through python3 ("+err.Error()+")", "pip install cfn-lint")
	}
	var tpl cfnTemplate
	if err := json.Unmarshal(out, &tpl); err != nil {
		t.Fatalf("transformed template: %v", err)
	}
	return tpl
}

// TestTransformedTemplate checks what SAM generates from the function: the schedule's role is
// tagged like everything else (PropagateTags), and failed asynchronous invocations go to the
// dead-letter queue (an AWS::Lambda::EventInvokeConfig with its OnFailure destination).
func TestTransformedTemplate(t *testing.T) {
	tpl := transformed(t)
	var types []string
	for _, r := range tpl.Resources {
		types = append(types, r.Type)
	}
	facts := schemaFacts(t, types)
	wantTags := `[{"Key":"application","Value":"phonewatch"},{"Key":"stage","Value":{"Ref":"Stage"}}]`
	var invokeConfigs int
	for id, r := range tpl.Resources {
		if facts[r.Type].Tags && asJSON(r.Properties["Tags"]) != wantTags {
			t.Errorf("transformed %s (%s) takes tags but has %s, want %s", id, r.Type, asJSON(r.Properties["Tags"]), wantTags)
		}
		if r.Type == "AWS::Lambda::EventInvokeConfig" {
			invokeConfigs++
			dest := refTo(dig(r.Properties, "DestinationConfig", "OnFailure", "Destination"), "Arn")
			if dest == "" || tpl.Resources[dest].Type != "AWS::SQS::Queue" || asJSON(r.Properties["FunctionName"]) != `{"Ref":"`+functionID+`"}` {
				t.Errorf("transformed %s: %s, want the function's failed invocations sent to a queue of the stack", id, asJSON(r.Properties))
			}
		}
	}
	if invokeConfigs != 1 {
		t.Errorf("transformed template has %d AWS::Lambda::EventInvokeConfig, want 1", invokeConfigs)
	}
}
