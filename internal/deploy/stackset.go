package deploy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parameters the StackSet template adds: where each Region's copy of the code is. A
// StackSet's parameters are the same in every account and Region that auto-deployment
// creates, so the bucket is named per Region by a rule (CodeBucketPrefix-<Region>) instead of
// per-Region parameter overrides.
const (
	CodeBucketPrefix = "CodeBucketPrefix"
	CodeKey          = "CodeKey"
)

// slackOnly are the parameters and conditions of the Slack channel, which the StackSet
// template leaves out: AWS::Chatbot::SlackChannelConfiguration does not exist in the aws-cn
// and aws-us-gov partitions (CloudFormation refuses a template naming an unknown type,
// condition or not), and with a central topic Slack belongs to the hub anyway.
var slackOnly = map[string]bool{"SlackWorkspaceId": true, "SlackChannelId": true, "HasSlack": true, "HasSlackLogGroup": true}

// StackSetTemplate turns the SAM template (template.yaml) into the plain CloudFormation
// template a StackSet deploys: the AWS::Serverless::Function becomes an AWS::Lambda::Function
// whose code is read from CodeBucketPrefix-<Region>/CodeKey, its ScheduleV2 event an
// AWS::Scheduler::Schedule, and the Slack channel is left out. Every intrinsic function is
// kept as written, so every parameter stays live (SAM's own transform resolves some).
// A SAM property this code does not know is an error, never silently dropped.
func StackSetTemplate(samYAML []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(samYAML, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	tree, err := longForm(&doc)
	if err != nil {
		return nil, err
	}
	tpl, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template is not a mapping")
	}
	delete(tpl, "Transform")
	tpl["Description"] = fmt.Sprint(tpl["Description"]) + " (StackSet template generated from template.yaml by `make stackset-template`.)"

	params, _ := tpl["Parameters"].(map[string]any)
	conds, _ := tpl["Conditions"].(map[string]any)
	resources, _ := tpl["Resources"].(map[string]any)
	if params == nil || resources == nil {
		return nil, fmt.Errorf("template has no Parameters or Resources")
	}
	for name := range slackOnly {
		delete(params, name)
		delete(conds, name)
	}
	for id, r := range resources {
		if c, _ := dig(r, "Condition").(string); slackOnly[c] {
			delete(resources, id)
		}
	}
	params[CodeBucketPrefix] = map[string]any{
		"Type": "String", "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,40}$",
		"Description": "Buckets holding the function's code: CodeBucketPrefix-<Region> in each Region (Lambda reads code from its own Region).",
	}
	params[CodeKey] = map[string]any{
		"Type": "String", "AllowedPattern": "^[^\\s]+$",
		"Description": "The code's object key, the same in every Region's bucket (sam package prints it as CodeUri).",
	}
	if groups, ok := dig(tpl, "Metadata", "AWS::CloudFormation::Interface", "ParameterGroups").([]any); ok {
		for _, g := range groups {
			if m, ok := g.(map[string]any); ok {
				m["Parameters"] = slices.DeleteFunc(asAnyList(m["Parameters"]), func(p any) bool { return slackOnly[fmt.Sprint(p)] })
			}
		}
		dig(tpl, "Metadata", "AWS::CloudFormation::Interface").(map[string]any)["ParameterGroups"] =
			append(groups, map[string]any{"Label": map[string]any{"default": "Code"}, "Parameters": []any{CodeBucketPrefix, CodeKey}})
	}

	for _, id := range slices.Sorted(maps.Keys(resources)) {
		r, _ := resources[id].(map[string]any)
		typ, _ := r["Type"].(string)
		if !strings.HasPrefix(typ, "AWS::Serverless::") {
			continue
		}
		if typ != "AWS::Serverless::Function" {
			return nil, fmt.Errorf("resource %s: %s is not supported", id, typ)
		}
		fn, events, err := plainFunction(id, r)
		if err != nil {
			return nil, err
		}
		resources[id] = fn
		for name, ev := range events {
			resources[id+name] = ev
		}
	}
	// Nothing may still name what was left out.
	var dangling []string
	walk(tpl, func(s string) {
		for name := range slackOnly {
			if strings.Contains(s, name) {
				dangling = append(dangling, s)
			}
		}
	})
	if len(dangling) > 0 {
		return nil, fmt.Errorf("the StackSet template still refers to the Slack channel: %q", dangling)
	}
	out, err := json.MarshalIndent(tpl, "", " ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// functionProps are the AWS::Serverless::Function properties that AWS::Lambda::Function takes
// as they are.
var functionProps = map[string]bool{
	"Description": true, "Handler": true, "Runtime": true, "Architectures": true, "MemorySize": true,
	"Timeout": true, "Role": true, "LoggingConfig": true, "Environment": true,
	"ReservedConcurrentExecutions": true,
}

// plainFunction converts one AWS::Serverless::Function and returns its ScheduleV2 events as
// AWS::Scheduler::Schedule resources by event name.
func plainFunction(id string, r map[string]any) (map[string]any, map[string]any, error) {
	props, _ := r["Properties"].(map[string]any)
	out := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		v := props[k]
		switch {
		case functionProps[k]:
			out[k] = v
		case k == "CodeUri":
			// The build is uploaded by the operator (docs/organization.md); the template only
			// says where it is.
			out["Code"] = map[string]any{
				"S3Bucket": map[string]any{"Fn::Sub": "${" + CodeBucketPrefix + "}-${AWS::Region}"},
				"S3Key":    map[string]any{"Ref": CodeKey},
			}
		case k == "Tags":
			tags, _ := v.(map[string]any)
			var list []any
			for _, name := range slices.Sorted(maps.Keys(tags)) {
				list = append(list, map[string]any{"Key": name, "Value": tags[name]})
			}
			out["Tags"] = list
		case k == "PropagateTags", k == "Events":
			// PropagateTags: the schedule below carries no tags (AWS::Scheduler::Schedule takes
			// none). Events: converted below.
		default:
			return nil, nil, fmt.Errorf("resource %s: property %s is not supported by the StackSet conversion", id, k)
		}
	}
	fn := map[string]any{"Type": "AWS::Lambda::Function", "Properties": out}
	for _, k := range []string{"DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy"} {
		if v, ok := r[k]; ok {
			fn[k] = v
		}
	}
	events := map[string]any{}
	evs, _ := props["Events"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(evs)) {
		ev, _ := evs[name].(map[string]any)
		if ev["Type"] != "ScheduleV2" {
			return nil, nil, fmt.Errorf("resource %s: event %s of type %v is not supported", id, name, ev["Type"])
		}
		sched, err := plainSchedule(id, name, ev["Properties"])
		if err != nil {
			return nil, nil, err
		}
		events[name] = sched
	}
	return fn, events, nil
}

// plainSchedule converts a ScheduleV2 event of function id into an AWS::Scheduler::Schedule,
// as SAM does, with the function as its target.
func plainSchedule(id, name string, p any) (map[string]any, error) {
	props, _ := p.(map[string]any)
	out := map[string]any{"FlexibleTimeWindow": map[string]any{"Mode": "OFF"}}
	target := map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{id, "Arn"}}}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		v := props[k]
		switch k {
		case "Description", "ScheduleExpression", "GroupName", "FlexibleTimeWindow", "State", "StartDate", "EndDate", "ScheduleExpressionTimezone":
			out[k] = v
		case "RoleArn", "RetryPolicy", "DeadLetterConfig", "Input":
			target[k] = v
		case "OmitName":
			if v != true {
				return nil, fmt.Errorf("resource %s: event %s: only OmitName true (a generated name) is supported", id, name)
			}
		default:
			return nil, fmt.Errorf("resource %s: event %s: property %s is not supported by the StackSet conversion", id, name, k)
		}
	}
	if target["RoleArn"] == nil {
		return nil, fmt.Errorf("resource %s: event %s has no RoleArn: SAM would generate a role, the conversion does not", id, name)
	}
	out["Target"] = target
	return map[string]any{"Type": "AWS::Scheduler::Schedule", "Properties": out}, nil
}

// dig follows keys through nested maps; nil when one is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func asAnyList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return nil
}

// walk calls f with every string in v, map keys included.
func walk(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case map[string]any:
		for k, e := range v {
			f(k)
			walk(e, f)
		}
	case []any:
		for _, e := range v {
			walk(e, f)
		}
	}
}
