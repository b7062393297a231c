// Command tfcheck is memstream's static checker for its Terraform (infra/terraform), for a machine with no
// cloud account and no Terraform registry: it needs neither providers nor `terraform init`.
//
//	tfcheck <dir>
//
// Every directory under <dir> holding .tf files is a module. Findings print as "file:line: rule: message"; the
// exit status is 1 when there is any. The rules (each has a broken fixture under tests/fixtures/terraform/):
//
//	parse        every file parses as HCL native syntax
//	format       every file is formatted canonically (HCL's formatter, what `terraform fmt` applies)
//	reference    every var., local., module.<name>[.<output>], data.<type>.<name> and <type>.<name> resolves
//	module-input a module call gives only inputs its module declares, and every input without a default
//	provider     a provider configuration named by `provider =` or `providers = {}` is declared
//	pinned       every provider a module uses is in its required_providers, with a version constraint
//	documented   every variable has a type and a description, every output a description
//	sensitive    a variable named like a secret is sensitive; an output of a secret is sensitive
package main

import (
	"fmt"
	"os"
	"sort"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tfcheck <dir>")
		os.Exit(2)
	}
	findings, err := Check(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tfcheck:", err)
		os.Exit(2)
	}
	sort.Slice(findings, func(i, j int) bool { return findings[i].String() < findings[j].String() })
	for _, f := range findings {
		fmt.Println(f)
	}
	if len(findings) > 0 {
		os.Exit(1)
	}
}
