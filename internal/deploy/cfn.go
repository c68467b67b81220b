// Package deploy holds what the deployment needs beyond the SAM template itself: the plain
// CloudFormation template a StackSet deploys (StackSetTemplate), generated from template.yaml
// by code of our own so that no parameter is resolved on the way. Its tests check template.yaml,
// the hub template and the generated one against the code and against cfn-lint.
package deploy

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// longForm converts a YAML node into maps, slices and scalars, with each short-form intrinsic
// function replaced by its long form.
func longForm(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, fmt.Errorf("line %d: want one YAML document", n.Line)
		}
		return longForm(n.Content[0])
	case yaml.AliasNode:
		return longForm(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("line %d: key %q twice", n.Content[i].Line, key)
			}
			val, err := longForm(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[key] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := longForm(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if isIntrinsicTag(n.Tag) {
			v = n.Value // the argument of !Ref, !Sub, ... is text
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
	}
	if !isIntrinsicTag(n.Tag) {
		return v, nil
	}
	name := strings.TrimPrefix(n.Tag, "!")
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		// !GetAtt Resource.Attribute is the list [Resource, Attribute].
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q has no attribute", n.Line, s)
			}
			v = []any{res, attr}
		}
	}
	return map[string]any{"Fn::" + name: v}, nil
}

// isIntrinsicTag reports whether tag is a local tag such as !Ref (not a YAML !!type tag).
func isIntrinsicTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}
