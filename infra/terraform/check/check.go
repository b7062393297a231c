package main

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Check loads every module under root and returns every finding.
func Check(root string) ([]Finding, error) {
	modules := map[string]*Module{}
	var findings []Finding
	err := filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if entry.IsDir() && (entry.Name() == ".terraform" || (path != root && strings.HasPrefix(entry.Name(), "."))) {
			return filepath.SkipDir
		}
		if entry.IsDir() {
			if tf, _ := filepath.Glob(filepath.Join(path, "*.tf")); len(tf) > 0 {
				m, found, err := loadModule(path)
				if err != nil {
					return err
				}
				modules[filepath.Clean(path)] = m
				findings = append(findings, found...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	dirs := make([]string, 0, len(modules))
	for dir := range modules {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		m := modules[dir]
		if m.parseFailed {
			continue
		}
		findings = append(findings, m.references(modules)...)
		findings = append(findings, m.moduleInputs(modules)...)
		findings = append(findings, m.pinned()...)
		findings = append(findings, m.documented()...)
		findings = append(findings, m.sensitive()...)
	}
	return findings, nil
}

// ------------------------------------------------------------------------------------------------ format

func formatFindings(name string, src []byte) []Finding {
	canonical := hclwrite.Format(src)
	if bytes.Equal(canonical, src) {
		return nil
	}
	got, want := bytes.Split(src, []byte("\n")), bytes.Split(canonical, []byte("\n"))
	line := 1
	for line <= len(got) && line <= len(want) && bytes.Equal(got[line-1], want[line-1]) {
		line++
	}
	return []Finding{{File: name, Line: line, Rule: "format", Msg: "not formatted canonically (run terraform fmt)"}}
}

// ---------------------------------------------------------------------------------------------- references

// Roots every expression may use without a declaration.
var builtinRoots = map[string]bool{"each": true, "count": true, "self": true, "path": true, "terraform": true}

// target is the module a call's local source names ("./x", "../x"), if it was loaded.
func (m *Module) target(call *moduleCall, modules map[string]*Module) *Module {
	if !strings.HasPrefix(call.source, "./") && !strings.HasPrefix(call.source, "../") {
		return nil
	}
	dir := filepath.Clean(filepath.Join(m.Dir, call.source))
	if loaded, ok := modules[dir]; ok {
		return loaded
	}
	// A module outside the checked tree (tfcheck run on one module): read its declarations, report nothing of it.
	if tf, _ := filepath.Glob(filepath.Join(dir, "*.tf")); len(tf) == 0 {
		return nil
	}
	loaded, _, err := loadModule(dir)
	if err != nil {
		return nil
	}
	modules[dir] = loaded
	return loaded
}

func (m *Module) references(modules map[string]*Module) []Finding {
	var findings []Finding
	for _, block := range m.blocks {
		if block.Type == "terraform" {
			continue // required_providers and backends name providers and settings, not values
		}
		findings = append(findings, m.walk(block, block.Type == "variable", map[string]bool{}, modules)...)
	}
	return findings
}

// walk checks every expression of block's body; scope holds the iterator names of enclosing dynamic blocks.
func (m *Module) walk(block *hclsyntax.Block, isVariable bool, scope map[string]bool, modules map[string]*Module) []Finding {
	var findings []Finding
	for name, attr := range block.Body.Attributes {
		switch {
		case isVariable && name == "type": // a type constraint: string, list(string), object({...})
			continue
		case block.Type == "lifecycle" && name == "ignore_changes": // attribute names of the resource itself
			continue
		case (name == "provider" && (block.Type == "resource" || block.Type == "data")) ||
			(name == "providers" && block.Type == "module"):
			findings = append(findings, m.providerRefs(attr, block, modules)...)
			continue
		}
		for _, traversal := range attr.Expr.Variables() {
			if msg := m.resolve(traversal, scope, modules); msg != "" {
				findings = append(findings, at(traversal.SourceRange(), "reference", "%s", msg))
			}
		}
	}
	for _, inner := range block.Body.Blocks {
		innerScope := scope
		if inner.Type == "dynamic" {
			iterator := label(inner, 0)
			if attr, ok := inner.Body.Attributes["iterator"]; ok {
				iterator = hcl.ExprAsKeyword(attr.Expr)
			}
			innerScope = map[string]bool{iterator: true}
			for name := range scope {
				innerScope[name] = true
			}
			// for_each and iterator belong to the outer scope; the content sees the iterator.
			for name, attr := range inner.Body.Attributes {
				if name == "iterator" {
					continue
				}
				for _, traversal := range attr.Expr.Variables() {
					if msg := m.resolve(traversal, scope, modules); msg != "" {
						findings = append(findings, at(traversal.SourceRange(), "reference", "%s", msg))
					}
				}
			}
			for _, content := range inner.Body.Blocks {
				findings = append(findings, m.walk(content, false, innerScope, modules)...)
			}
			continue
		}
		findings = append(findings, m.walk(inner, isVariable, innerScope, modules)...)
	}
	return findings
}

// resolve is "" when t names something declared, else what is wrong.
func (m *Module) resolve(t hcl.Traversal, scope map[string]bool, modules map[string]*Module) string {
	root := t.RootName()
	switch {
	case builtinRoots[root] || scope[root]:
		return ""
	case root == "var":
		if _, ok := m.variables[attrAt(t, 1)]; !ok {
			return "var." + attrAt(t, 1) + " is not declared"
		}
	case root == "local":
		if !m.locals[attrAt(t, 1)] {
			return "local." + attrAt(t, 1) + " is not declared"
		}
	case root == "module":
		call, ok := m.calls[attrAt(t, 1)]
		if !ok {
			return "module." + attrAt(t, 1) + " is not declared"
		}
		if output := attrAt(t, 2); output != "" {
			if target := m.target(call, modules); target != nil && !target.outputs[output] {
				return "module." + attrAt(t, 1) + " (" + call.source + ") has no output " + output
			}
		}
	case root == "data":
		name := attrAt(t, 1) + "." + attrAt(t, 2)
		if !m.data[name] {
			return "data." + name + " is not declared"
		}
	default:
		name := root + "." + attrAt(t, 1)
		if !m.resources[name] {
			return name + " is not declared"
		}
	}
	return ""
}

// providerRefs checks `provider = aws.dr`, and `providers = { aws.primary = aws.dr }` of a module call: each
// value must be a configuration of this module, each aliased key one the called module declares.
func (m *Module) providerRefs(attr *hclsyntax.Attribute, block *hclsyntax.Block, modules map[string]*Module) []Finding {
	var findings []Finding
	check := func(expr hclsyntax.Expression, in *Module, where string) {
		for _, traversal := range expr.Variables() {
			name := traversalName(traversal)
			if strings.Contains(name, ".") && !in.aliases[name] {
				findings = append(findings, at(traversal.SourceRange(), "provider",
					"provider configuration %s is not declared%s", name, where))
			}
		}
	}
	object, isMap := attr.Expr.(*hclsyntax.ObjectConsExpr)
	if !isMap {
		check(attr.Expr, m, "")
		return findings
	}
	var target *Module
	if call, ok := m.calls[label(block, 0)]; ok {
		target = m.target(call, modules)
	}
	for _, item := range object.Items {
		check(item.ValueExpr, m, "")
		if target != nil {
			key := item.KeyExpr
			if wrapped, ok := key.(*hclsyntax.ObjectConsKeyExpr); ok {
				key = wrapped.Wrapped
			}
			check(key, target, " in "+target.Dir+" (configuration_aliases)")
		}
	}
	return findings
}

// -------------------------------------------------------------------------------------------- module inputs

var metaArguments = map[string]bool{
	"source": true, "version": true, "providers": true, "count": true, "for_each": true, "depends_on": true,
}

func (m *Module) moduleInputs(modules map[string]*Module) []Finding {
	var findings []Finding
	names := make([]string, 0, len(m.calls))
	for name := range m.calls {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		call := m.calls[name]
		target := m.target(call, modules)
		if target == nil {
			findings = append(findings, at(call.block.DefRange(), "module-input",
				"module %s: source %q is not a module directory of this tree", name, call.source))
			continue
		}
		for input, attr := range call.block.Body.Attributes {
			if _, ok := target.variables[input]; !ok && !metaArguments[input] {
				findings = append(findings, at(attr.NameRange, "module-input",
					"module %s: %s declares no variable %q", name, call.source, input))
			}
		}
		for variableName, v := range target.variables {
			if _, given := call.block.Body.Attributes[variableName]; v.required && !given {
				findings = append(findings, at(call.block.DefRange(), "module-input",
					"module %s: required input %q of %s is not given", name, variableName, call.source))
			}
		}
	}
	return findings
}

// ------------------------------------------------------------------------------------------------ pinned

func providerOf(resourceType string) string {
	return strings.SplitN(resourceType, "_", 2)[0]
}

func (m *Module) pinned() []Finding {
	var findings []Finding
	reported := map[string]bool{}
	for _, block := range m.blocks {
		var provider string
		switch block.Type {
		case "resource", "data":
			provider = providerOf(label(block, 0))
		case "provider":
			provider = label(block, 0)
		default:
			continue
		}
		if reported[provider] {
			continue
		}
		pinned, listed := m.required[provider]
		switch {
		case !listed:
			findings = append(findings, at(block.DefRange(), "pinned", "provider %s is not in required_providers", provider))
			reported[provider] = true
		case !pinned:
			findings = append(findings, at(block.DefRange(), "pinned", "provider %s has no version constraint", provider))
			reported[provider] = true
		}
	}
	return findings
}

// -------------------------------------------------------------------------------------------- documented

func hasText(body *hclsyntax.Body, name string) bool {
	attr, ok := body.Attributes[name]
	if !ok {
		return false
	}
	value, diags := attr.Expr.Value(nil)
	return !diags.HasErrors() && value.Type().FriendlyName() == "string" && strings.TrimSpace(value.AsString()) != ""
}

func (m *Module) documented() []Finding {
	var findings []Finding
	for _, block := range m.blocks {
		switch block.Type {
		case "variable":
			if _, ok := block.Body.Attributes["type"]; !ok {
				findings = append(findings, at(block.DefRange(), "documented", "variable %s has no type", label(block, 0)))
			}
			if !hasText(block.Body, "description") {
				findings = append(findings, at(block.DefRange(), "documented", "variable %s has no description", label(block, 0)))
			}
		case "output":
			if !hasText(block.Body, "description") {
				findings = append(findings, at(block.DefRange(), "documented", "output %s has no description", label(block, 0)))
			}
		}
	}
	return findings
}

// --------------------------------------------------------------------------------------------- sensitive

// Names of variables that carry a secret's value (a reference to one, e.g. an ARN, is named *_arn).
var secretName = regexp.MustCompile(`(?i)(password|secret|token|private_key|api_key)$`)

// Resources whose attributes are secrets wherever they flow.
var secretResources = map[string]bool{"random_password": true, "tls_private_key": true}

func (m *Module) sensitive() []Finding {
	var findings []Finding
	for _, block := range m.blocks {
		switch block.Type {
		case "variable":
			if secretName.MatchString(label(block, 0)) && !isTrue(block.Body, "sensitive") {
				findings = append(findings, at(block.DefRange(), "sensitive",
					"variable %s holds a secret: mark it sensitive = true, or pass a reference (an ARN) instead", label(block, 0)))
			}
		case "output":
			value, ok := block.Body.Attributes["value"]
			if !ok || isTrue(block.Body, "sensitive") {
				continue
			}
			for _, traversal := range value.Expr.Variables() {
				root := traversal.RootName()
				v := m.variables[attrAt(traversal, 1)]
				if secretResources[root] || (root == "var" && v != nil && v.sensitive) {
					findings = append(findings, at(block.DefRange(), "sensitive",
						"output %s carries %s: mark it sensitive = true", label(block, 0), traversalName(traversal)))
					break
				}
			}
		}
	}
	return findings
}
