package deploy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// A mode is one way to deploy the template: parameter values over the defaults, and the
// pseudo parameters CloudFormation would supply.
type mode struct {
	name   string
	params map[string]string
}

// centralTopic and centralKey are what an organisation's hub stack would output.
const (
	centralTopic = "arn:aws:sns:eu-west-1:111122223333:phonewatch-central"
	centralKey   = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-4333-8444-555555555555"
)

// modes are the deployments every mode-dependent test runs on: the stack's own topic, and a
// central topic with and without encryption.
var (
	ownTopic         = mode{"own topic", map[string]string{}}
	centralEncrypted = mode{"central topic", map[string]string{"CentralTopicArn": centralTopic, "CentralTopicKeyArn": centralKey}}
	centralPlain     = mode{"central topic unencrypted", map[string]string{"CentralTopicArn": centralTopic}}
	modes            = []mode{ownTopic, centralEncrypted, centralPlain}
)

// with returns m with more parameter values.
func (m mode) with(kv ...string) mode {
	p := map[string]string{}
	for k, v := range m.params {
		p[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return mode{m.name, p}
}

// pseudo are CloudFormation's pseudo parameters for a stack in us-west-2 of the aws partition.
var pseudo = map[string]string{
	"AWS::Partition": "aws", "AWS::Region": "us-west-2", "AWS::AccountId": "444455556666",
	"AWS::StackName": "phonewatch", "AWS::URLSuffix": "amazonaws.com",
	"AWS::StackId": "arn:aws:cloudformation:us-west-2:444455556666:stack/phonewatch/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
}

// values returns every parameter's value in mode m (its default unless m sets it) and the
// pseudo parameters, which m may also override.
func (tpl cfnTemplate) values(m mode) map[string]string {
	v := map[string]string{}
	for k, s := range pseudo {
		v[k] = s
	}
	for name, p := range tpl.Parameters {
		if p.Default != nil {
			v[name] = fmt.Sprint(p.Default)
		}
	}
	for k, s := range m.params {
		v[k] = s
	}
	return v
}

// deployed is the template as CloudFormation would see it in mode m: each condition evaluated,
// the resources and outputs whose condition is false removed, every Fn::If replaced by the
// branch taken and AWS::NoValue dropped. Intrinsics other than Fn::If stay as written, so that
// the tests can compare them with the references they expect.
func deployed(t *testing.T, m mode) cfnTemplate {
	t.Helper()
	tpl := loadTemplate(t)
	vals := tpl.values(m)
	conds := map[string]bool{}
	var eval func(name string) bool
	eval = func(name string) bool {
		if v, ok := conds[name]; ok {
			return v
		}
		c, ok := tpl.Conditions[name]
		if !ok {
			t.Fatalf("no condition %s", name)
		}
		conds[name] = condition(t, c, vals, eval)
		return conds[name]
	}
	for name := range tpl.Conditions {
		eval(name)
	}
	out := cfnTemplate{Parameters: tpl.Parameters, Mappings: tpl.Mappings, Conditions: tpl.Conditions,
		Resources: map[string]cfnResource{}, Outputs: map[string]map[string]any{}}
	for id, r := range tpl.Resources {
		if r.Condition != "" && !eval(r.Condition) {
			continue
		}
		r.Properties, _ = pickBranches(r.Properties, eval).(map[string]any)
		out.Resources[id] = r
	}
	for id, o := range tpl.Outputs {
		if c, _ := o["Condition"].(string); c != "" && !eval(c) {
			continue
		}
		out.Outputs[id], _ = pickBranches(o, eval).(map[string]any)
	}
	return out
}

// condition evaluates a condition's expression.
func condition(t *testing.T, c any, vals map[string]string, named func(string) bool) bool {
	t.Helper()
	m, ok := c.(map[string]any)
	if !ok || len(m) != 1 {
		t.Fatalf("condition %s: want one function", asJSON(c))
	}
	for fn, arg := range m {
		args := asList(arg)
		switch fn {
		case "Condition":
			return named(arg.(string))
		case "Fn::Not":
			return !condition(t, args[0], vals, named)
		case "Fn::And", "Fn::Or":
			all, some := true, false
			for _, a := range args {
				v := condition(t, a, vals, named)
				all, some = all && v, some || v
			}
			if fn == "Fn::And" {
				return all
			}
			return some
		case "Fn::Equals":
			return evalString(t, args[0], vals) == evalString(t, args[1], vals)
		}
		t.Fatalf("condition function %s is not supported here", fn)
	}
	return false
}

// pickBranches replaces every {"Fn::If": [cond, a, b]} in v by the branch taken, and drops
// {"Ref": "AWS::NoValue"} from maps and lists.
func pickBranches(v any, cond func(string) bool) any {
	switch v := v.(type) {
	case map[string]any:
		if args, ok := v["Fn::If"].([]any); ok && len(v) == 1 && len(args) == 3 {
			if cond(args[0].(string)) {
				return pickBranches(args[1], cond)
			}
			return pickBranches(args[2], cond)
		}
		out := map[string]any{}
		for k, e := range v {
			if e = pickBranches(e, cond); !isNoValue(e) {
				out[k] = e
			}
		}
		return out
	case []any:
		out := []any{}
		for _, e := range v {
			if e = pickBranches(e, cond); !isNoValue(e) {
				out = append(out, e)
			}
		}
		return out
	}
	return v
}

func isNoValue(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["Ref"] == "AWS::NoValue"
}

// subVar is a ${Name} or ${Resource.Attribute} in an Fn::Sub string (${!Literal} excluded).
var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

// evalString computes a string-valued expression of parameters and pseudo parameters: a
// literal, Ref, Fn::Sub, Fn::Select, Fn::Split, Fn::Join. A reference to a resource becomes
// "<Resource>" or "<Resource.Attribute>", which is what the tests need to see it.
func evalString(t *testing.T, v any, vals map[string]string) string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return v
	case float64, bool:
		return fmt.Sprint(v)
	case map[string]any:
		for fn, arg := range v {
			switch fn {
			case "Ref":
				if s, ok := vals[arg.(string)]; ok {
					return s
				}
				return "<" + arg.(string) + ">"
			case "Fn::GetAtt":
				parts := asList(arg)
				return fmt.Sprintf("<%v.%v>", parts[0], parts[1])
			case "Fn::Sub":
				return evalSub(t, arg, vals)
			case "Fn::Select":
				args := asList(arg)
				list := evalList(t, args[1], vals)
				i := int(args[0].(float64))
				if i >= len(list) {
					t.Fatalf("Fn::Select index %d of %q: CloudFormation would fail the deploy", i, list)
				}
				return list[i]
			case "Fn::Join":
				args := asList(arg)
				return strings.Join(evalList(t, args[1], vals), args[0].(string))
			case "Fn::FindInMap":
				args := asList(arg)
				return fmt.Sprintf("<FindInMap %s>", evalString(t, args[2], vals))
			}
		}
	}
	t.Fatalf("cannot evaluate %s", asJSON(v))
	return ""
}

// evalSub computes Fn::Sub, in its string form or its [string, {variables}] form.
func evalSub(t *testing.T, arg any, vals map[string]string) string {
	t.Helper()
	text, vars := "", map[string]string{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		text = a[0].(string)
		for k, e := range a[1].(map[string]any) {
			vars[k] = evalString(t, e, vals)
		}
	}
	return subVar.ReplaceAllStringFunc(text, func(ref string) string {
		name := ref[2 : len(ref)-1]
		if s, ok := vars[name]; ok {
			return s
		}
		if s, ok := vals[name]; ok {
			return s
		}
		return "<" + name + ">"
	})
}

// evalList computes a list-valued expression: a literal list or Fn::Split.
func evalList(t *testing.T, v any, vals map[string]string) []string {
	t.Helper()
	if m, ok := v.(map[string]any); ok {
		if args, ok := m["Fn::Split"].([]any); ok {
			return strings.Split(evalString(t, args[1], vals), args[0].(string))
		}
	}
	var out []string
	for _, e := range asList(v) {
		out = append(out, evalString(t, e, vals))
	}
	return out
}

func TestDeployedPicksBranches(t *testing.T) {
	in := map[string]any{"a": map[string]any{"Fn::If": []any{"Yes", "y", "n"}},
		"b": []any{map[string]any{"Fn::If": []any{"No", "x", map[string]any{"Ref": "AWS::NoValue"}}}, "z"}}
	got := pickBranches(in, func(c string) bool { return c == "Yes" })
	if want := `{"a":"y","b":["z"]}`; asJSON(got) != want {
		t.Errorf("pickBranches = %s, want %s", asJSON(got), want)
	}
	var sub any
	if err := json.Unmarshal([]byte(`{"Fn::Sub":["x-${R}-${AWS::Region}",{"R":{"Fn::Select":[3,{"Fn::Split":[":",{"Fn::Sub":"${P}:::"}]}]}}]}`), &sub); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{centralTopic: "x-eu-west-1-us-west-2", "": "x--us-west-2"} {
		if got := evalString(t, sub, map[string]string{"P": p, "AWS::Region": "us-west-2"}); got != want {
			t.Errorf("P=%q: %s, want %s", p, got, want)
		}
	}
}
