// Package deploy tests the SAM deployment at the repository root (template.yaml, env.json,
// samconfig.toml) for what no linter knows: that the template sets exactly the environment the
// code reads, grants exactly the calls the code makes, builds the state table the store expects,
// and keeps the schedule, the timeout and the alarms in step. cfn-lint checks the rest.

package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// root is the repository root, where SAM expects its files.
const root = "../.."

// functionID is the function's logical ID: SAM builds it with `make build-PhoneWatchFunction`.
const functionID = "PhoneWatchFunction"

// cfnTemplate is the part of a CloudFormation template the tests read. Intrinsic functions
// appear in their long form ({"Ref": ...}, {"Fn::GetAtt": [...]}) whichever form the YAML used.
type cfnTemplate struct {
	Parameters map[string]cfnParameter              `json:"Parameters"`
	Mappings   map[string]map[string]map[string]any `json:"Mappings"`
	Conditions map[string]any                       `json:"Conditions"`
	Resources  map[string]cfnResource               `json:"Resources"`
	Outputs    map[string]map[string]any            `json:"Outputs"`
}

type cfnParameter struct {
	Type           string  `json:"Type"`
	Default        any     `json:"Default"`
	AllowedValues  []any   `json:"AllowedValues"`
	AllowedPattern string  `json:"AllowedPattern"`
	MaxLength      float64 `json:"MaxLength"`
}

type cfnResource struct {
	Type                string         `json:"Type"`
	Condition           string         `json:"Condition"`
	DependsOn           any            `json:"DependsOn"`
	DeletionPolicy      string         `json:"DeletionPolicy"`
	UpdateReplacePolicy string         `json:"UpdateReplacePolicy"`
	Metadata            map[string]any `json:"Metadata"`
	Properties          map[string]any `json:"Properties"`
}

// loadTemplate reads template.yaml, turning CloudFormation's short-form tags (!Ref, !Sub,
// !GetAtt, ...) into the long form, which a plain YAML decoder would reject or lose.
func loadTemplate(t *testing.T) cfnTemplate {
	t.Helper()
	return loadTemplateFile(t, "template.yaml")
}

// loadTemplateFile reads a template at path (from the repository root) as loadTemplate does.
func loadTemplateFile(t *testing.T, path string) cfnTemplate {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatalf("read template: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	tree, err := longForm(&doc)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// A JSON round trip gives the typed view; the values stay what YAML said.
	b, err := json.Marshal(tree)
	if err != nil {
		t.Fatalf("%s as JSON: %v", path, err)
	}
	var tpl cfnTemplate
	if err := json.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("%s structure: %v", path, err)
	}
	return tpl
}

// resource returns the resource with this logical ID, failing the test when there is none.
func (tpl cfnTemplate) resource(t *testing.T, id string) cfnResource {
	t.Helper()
	r, ok := tpl.Resources[id]
	if !ok {
		t.Fatalf("template has no resource %s", id)
	}
	return r
}

// function returns the phonewatch function's properties.
func (tpl cfnTemplate) function(t *testing.T) map[string]any {
	t.Helper()
	fn := tpl.resource(t, functionID)
	if fn.Type != "AWS::Serverless::Function" {
		t.Fatalf("%s is a %s, want AWS::Serverless::Function", functionID, fn.Type)
	}
	return fn.Properties
}

// invokeConfig returns the properties of the function's AWS::Lambda::EventInvokeConfig (how
// Lambda treats its asynchronous invocations, the schedule's), failing unless there is exactly
// one. It is a resource of its own, not the function's EventInvokeConfig property: SAM resolves
// parameters inside that property at transform time (see TestScheduleFollowsPeriod).
func (tpl cfnTemplate) invokeConfig(t *testing.T) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, r := range tpl.Resources {
		if r.Type == "AWS::Lambda::EventInvokeConfig" && refTo(r.Properties["FunctionName"], "") == functionID {
			found = append(found, r.Properties)
		}
	}
	if len(found) != 1 {
		t.Fatalf("template has %d AWS::Lambda::EventInvokeConfig for %s, want 1", len(found), functionID)
	}
	return found[0]
}

// environment returns the function's environment variables.
func (tpl cfnTemplate) environment(t *testing.T) map[string]any {
	t.Helper()
	vars, ok := dig(tpl.function(t), "Environment", "Variables").(map[string]any)
	if !ok {
		t.Fatalf("%s has no Environment.Variables", functionID)
	}
	return vars
}

// refTo returns the logical ID that v references with {"Ref": id} or {"Fn::GetAtt": [id, attr]}
// (attr must then be want), or "" when v is neither.
func refTo(v any, wantAttr string) string {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return ""
	}
	if id, ok := m["Ref"].(string); ok && wantAttr == "" {
		return id
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 && ga[1] == wantAttr {
		id, _ := ga[0].(string)
		return id
	}
	return ""
}

// asJSON renders v compactly, for messages and for comparing intrinsic expressions.
func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

func TestLongFormTolerantOfShortTags(t *testing.T) {
	testCases := []struct {
		name string
		yaml string
		want string
	}{
		{"ref", "a: !Ref Topic", `{"a":{"Ref":"Topic"}}`},
		{"getatt dotted", "a: !GetAtt Table.Arn", `{"a":{"Fn::GetAtt":["Table","Arn"]}}`},
		{"getatt list", "a: !GetAtt [Table, Arn]", `{"a":{"Fn::GetAtt":["Table","Arn"]}}`},
		{"sub", "a: !Sub arn:${AWS::Partition}:x", `{"a":{"Fn::Sub":"arn:${AWS::Partition}:x"}}`},
		{"nested", "a: !Not [!Equals [!Ref P, \"\"]]", `{"a":{"Fn::Not":[{"Fn::Equals":[{"Ref":"P"},""]}]}}`},
		{"condition", "a: !Condition HasSlack", `{"a":{"Condition":"HasSlack"}}`},
		{"plain types kept", "a: [1, \"5\", true, x]", `{"a":[1,"5",true,"x"]}`},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			got, err := longForm(&doc)
			if err != nil {
				t.Fatal(err)
			}
			if asJSON(got) != tc.want {
				t.Errorf("got %s, want %s", asJSON(got), tc.want)
			}
		})
	}
}
