package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Finding is one mistake, at a place in a file.
type Finding struct {
	File string
	Line int
	Rule string
	Msg  string
}

func (f Finding) String() string { return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Rule, f.Msg) }

func at(r hcl.Range, rule, format string, args ...any) Finding {
	return Finding{File: r.Filename, Line: r.Start.Line, Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

type variable struct {
	required  bool // no default: every caller must give it
	sensitive bool
	block     *hclsyntax.Block
}

type moduleCall struct {
	source string
	block  *hclsyntax.Block
}

// Module is what one directory of .tf files declares.
type Module struct {
	Dir       string
	blocks    []*hclsyntax.Block // every top-level block of every file that parsed
	variables map[string]*variable
	locals    map[string]bool
	outputs   map[string]bool
	calls     map[string]*moduleCall
	resources map[string]bool // "type.name"
	data      map[string]bool // "type.name"
	// Provider configurations one may name: "aws" and the like are always there; "aws.dr" when a provider
	// block has that alias or required_providers lists it in configuration_aliases.
	aliases map[string]bool
	// Provider local name -> whether required_providers gives it a version constraint.
	required map[string]bool
	// A file did not parse: the declarations are incomplete, so only the parse findings are reported.
	parseFailed bool
}

func newModule(dir string) *Module {
	return &Module{
		Dir: dir, variables: map[string]*variable{}, locals: map[string]bool{}, outputs: map[string]bool{},
		calls: map[string]*moduleCall{}, resources: map[string]bool{}, data: map[string]bool{},
		aliases: map[string]bool{}, required: map[string]bool{},
	}
}

// loadModule parses every .tf file of dir (findings for those that do not parse or are not formatted) and
// records the module's declarations.
func loadModule(dir string) (*Module, []Finding, error) {
	m := newModule(dir)
	var findings []Finding
	names, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, nil, err
		}
		file, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			for _, d := range diags.Errs() {
				if diag, ok := d.(*hcl.Diagnostic); ok && diag.Subject != nil {
					findings = append(findings, at(*diag.Subject, "parse", "%s: %s", diag.Summary, diag.Detail))
				} else {
					findings = append(findings, Finding{File: name, Line: 1, Rule: "parse", Msg: d.Error()})
				}
			}
			m.parseFailed = true
			continue
		}
		findings = append(findings, formatFindings(name, src)...)
		for _, block := range file.Body.(*hclsyntax.Body).Blocks {
			m.declare(block)
		}
	}
	return m, findings, nil
}

func label(block *hclsyntax.Block, i int) string {
	if i < len(block.Labels) {
		return block.Labels[i]
	}
	return ""
}

func (m *Module) declare(block *hclsyntax.Block) {
	m.blocks = append(m.blocks, block)
	switch block.Type {
	case "variable":
		_, hasDefault := block.Body.Attributes["default"]
		m.variables[label(block, 0)] = &variable{required: !hasDefault, sensitive: isTrue(block.Body, "sensitive"), block: block}
	case "locals":
		for name := range block.Body.Attributes {
			m.locals[name] = true
		}
	case "output":
		m.outputs[label(block, 0)] = true
	case "module":
		source := ""
		if attr, ok := block.Body.Attributes["source"]; ok {
			if value, diags := attr.Expr.Value(nil); !diags.HasErrors() && value.Type().FriendlyName() == "string" {
				source = value.AsString()
			}
		}
		m.calls[label(block, 0)] = &moduleCall{source: source, block: block}
	case "resource":
		m.resources[label(block, 0)+"."+label(block, 1)] = true
	case "data":
		m.data[label(block, 0)+"."+label(block, 1)] = true
	case "provider":
		if attr, ok := block.Body.Attributes["alias"]; ok {
			if value, diags := attr.Expr.Value(nil); !diags.HasErrors() {
				m.aliases[label(block, 0)+"."+value.AsString()] = true
			}
		}
	case "terraform":
		for _, inner := range block.Body.Blocks {
			if inner.Type == "required_providers" {
				m.declareRequiredProviders(inner)
			}
		}
	}
}

func (m *Module) declareRequiredProviders(block *hclsyntax.Block) {
	for name, attr := range block.Body.Attributes {
		object, ok := attr.Expr.(*hclsyntax.ObjectConsExpr)
		if !ok {
			m.required[name] = false
			continue
		}
		pinned := false
		for _, item := range object.Items {
			key := hcl.ExprAsKeyword(item.KeyExpr)
			if key == "" {
				if wrapped, ok := item.KeyExpr.(*hclsyntax.ObjectConsKeyExpr); ok {
					key = hcl.ExprAsKeyword(wrapped.Wrapped)
				}
			}
			switch key {
			case "version":
				value, diags := item.ValueExpr.Value(nil)
				pinned = !diags.HasErrors() && strings.TrimSpace(value.AsString()) != ""
			case "configuration_aliases":
				for _, traversal := range item.ValueExpr.Variables() {
					m.aliases[traversalName(traversal)] = true
				}
			}
		}
		m.required[name] = pinned
	}
}

func isTrue(body *hclsyntax.Body, name string) bool {
	attr, ok := body.Attributes[name]
	if !ok {
		return false
	}
	value, diags := attr.Expr.Value(nil)
	return !diags.HasErrors() && value.Type().FriendlyName() == "bool" && value.True()
}

// traversalName is "root.attr.attr..." up to the first index or splat.
func traversalName(t hcl.Traversal) string {
	parts := []string{t.RootName()}
	for _, step := range t[1:] {
		attr, ok := step.(hcl.TraverseAttr)
		if !ok {
			break
		}
		parts = append(parts, attr.Name)
	}
	return strings.Join(parts, ".")
}

// attrAt is the name of the i-th step of t when it is an attribute step, else "".
func attrAt(t hcl.Traversal, i int) string {
	if i < len(t) {
		if attr, ok := t[i].(hcl.TraverseAttr); ok {
			return attr.Name
		}
	}
	return ""
}
