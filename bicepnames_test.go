package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// Azure's naming rules for the resource types the template names, from
// "Naming rules and restrictions for Azure resources" (and, for Azure Managed
// Redis, the REST API's pattern).
var azureNameRules = map[string]struct {
	min, max int
	pattern  *regexp.Regexp
	what     string
}{
	"Microsoft.Web/sites":                                               {2, 60, regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$`), "letters, digits, hyphens; no hyphen first or last"},
	"Microsoft.Web/serverfarms":                                         {1, 60, regexp.MustCompile(`^[a-zA-Z0-9-]+$`), "letters, digits, hyphens"},
	"Microsoft.ManagedIdentity/userAssignedIdentities":                  {3, 128, regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]*$`), "letters, digits, hyphens, underscores; a letter or digit first"},
	"Microsoft.KeyVault/vaults":                                         {3, 24, regexp.MustCompile(`^[a-zA-Z](?:[a-zA-Z0-9]|-[a-zA-Z0-9])*$`), "letters, digits, hyphens; a letter first, a letter or digit last, no double hyphen"},
	"Microsoft.Cache/redisEnterprise":                                   {1, 60, regexp.MustCompile(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`), "letters, digits, single hyphens inside"},
	"Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments": {1, 60, regexp.MustCompile(`^[A-Za-z0-9]+$`), "letters and digits"},
	"Microsoft.BotService/botServices":                                  {2, 64, regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`), "letters, digits, _ . -; a letter or digit first"},
}

// The base names the template's description allows: 3 to 20 lowercase
// letters, digits and single hyphens, a letter first, no hyphen last.
var allowedBaseName = regexp.MustCompile(`^[a-z](?:[a-z0-9]|-[a-z0-9]){2,19}$`)

// Every resource's name, evaluated from the template's own expressions for
// the shortest and longest allowed base names (and the suffixes
// uniqueString can give), follows Azure's rules for its type; globally unique
// ones carry at least 8 characters of the suffix.
func TestTemplateNamesAreValidForEveryAllowedBaseName(t *testing.T) {
	bicep := readTemplate(t)
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^var (\w+) = (.+)$`).FindAllStringSubmatch(bicep, -1) {
		vars[m[1]] = m[2]
	}
	resources := templateResources(bicep)
	names := map[string]string{} // resource type → the expression of its name
	for _, r := range resources {
		if _, ruled := azureNameRules[r.kind]; ruled {
			names[r.kind] = r.name
		}
	}
	for kind := range azureNameRules {
		if names[kind] == "" {
			t.Errorf("the template names no %s", kind)
		}
	}
	for _, base := range []string{"abc", "a-b-c", "contoso-snowbot-prod", "a1b2c3d4e5f6g7h8i9j0", "z-z-z-z-z-z-z-z-z-z0"} {
		if !allowedBaseName.MatchString(base) {
			t.Fatalf("%q is not an allowed base name", base)
		}
		for _, suffix := range []string{"a234567abcdef", "2222222222222", "zzzzzzzzzzzzz"} {
			e := &bicepEval{vars: vars, params: map[string]string{"name": base}, unique: suffix}
			for kind, expr := range names {
				got, err := e.eval(expr)
				if err != nil {
					t.Fatalf("%s: %v", expr, err)
				}
				rule := azureNameRules[kind]
				if len(got) < rule.min || len(got) > rule.max || !rule.pattern.MatchString(got) {
					t.Errorf("name=%q: %s %q breaks Azure's rule (%d-%d characters, %s)", base, kind, got, rule.min, rule.max, rule.what)
				}
				if global := kind == "Microsoft.KeyVault/vaults" || kind == "Microsoft.Cache/redisEnterprise" || kind == "Microsoft.BotService/botServices"; global && !strings.Contains(got, suffix[:8]) {
					t.Errorf("name=%q: %s %q carries less than 8 characters of the unique suffix", base, kind, got)
				}
			}
		}
	}
}

// The web app must not start before what it needs at its first start exists:
// the rights to read the vault and to pull the image, every secret it
// references, and its access to Redis.
func TestTheWebAppDependsOnWhatItNeedsAtStart(t *testing.T) {
	bicep := readTemplate(t)
	site := regexp.MustCompile(`(?s)resource site 'Microsoft\.Web/sites@[^']+' = \{.*?\n  dependsOn: \[(.*?)\]`).FindStringSubmatch(bicep)
	if site == nil {
		t.Fatal("the web app has no dependsOn")
	}
	deps := strings.Fields(site[1])
	for _, r := range templateResources(bicep) {
		needed := r.kind == "Microsoft.Authorization/roleAssignments" || r.kind == "Microsoft.KeyVault/vaults/secrets" ||
			r.kind == "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments"
		if needed && !contains(deps, r.symbol) {
			t.Errorf("the web app does not depend on %s (%s)", r.symbol, r.kind)
		}
	}
}

// The parameters file sets only parameters the template has, and every one
// without a default; deploy/README.md names each.
func TestTheParametersFileMatchesTheTemplate(t *testing.T) {
	bicep := readTemplate(t)
	params := readText(t, "deploy/main.bicepparam")
	readme := readText(t, "deploy/README.md")
	declared := map[string]bool{} // name → has a default
	for _, m := range regexp.MustCompile(`(?m)^param (\w+) \w+( =)?`).FindAllStringSubmatch(bicep, -1) {
		declared[m[1]] = m[2] != ""
	}
	set := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^param (\w+) =`).FindAllStringSubmatch(params, -1) {
		set[m[1]] = true
		if _, ok := declared[m[1]]; !ok {
			t.Errorf("main.bicepparam sets %s, which the template does not declare", m[1])
		}
		if !strings.Contains(readme, m[1]) {
			t.Errorf("deploy/README.md does not mention the parameter %s", m[1])
		}
	}
	for name, hasDefault := range declared {
		if !hasDefault && !set[name] {
			t.Errorf("the template requires %s, which main.bicepparam does not set", name)
		}
	}
}

func readTemplate(t *testing.T) string { return readText(t, "deploy/main.bicep") }

// readText reads a file of the repository.
func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type templateResource struct{ symbol, kind, name string }

// templateResources lists the template's resources: symbol, type and the
// expression of their name.
func templateResources(bicep string) []templateResource {
	var out []templateResource
	re := regexp.MustCompile(`(?m)^resource (\w+) '([^@']+)@[^']+'(?: existing)? = (?:if \([^\n]*\) )?\{\n((?:  .*\n)*?)\}`)
	for _, m := range re.FindAllStringSubmatch(bicep, -1) {
		name := ""
		if n := regexp.MustCompile(`(?m)^  name: (.+)$`).FindStringSubmatch(m[3]); n != nil {
			name = n[1]
		}
		out = append(out, templateResource{symbol: m[1], kind: m[2], name: name})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// bicepEval evaluates the part of Bicep's expression language that names
// use: string literals with ${} interpolation, variables and parameters,
// integers, and take, toLower, toUpper, replace, uniqueString (whose 13
// characters are given), resourceGroup().id.
type bicepEval struct {
	vars, params map[string]string
	unique       string
	src          string
	pos          int
}

func (e *bicepEval) eval(expr string) (string, error) {
	sub := &bicepEval{vars: e.vars, params: e.params, unique: e.unique, src: strings.TrimSpace(expr)}
	v, err := sub.expr()
	if err == nil && sub.pos != len(sub.src) {
		err = fmt.Errorf("unexpected %q", sub.src[sub.pos:])
	}
	return v, err
}

func (e *bicepEval) skip() {
	for e.pos < len(e.src) && e.src[e.pos] == ' ' {
		e.pos++
	}
}

func (e *bicepEval) expr() (string, error) {
	e.skip()
	if e.pos >= len(e.src) {
		return "", fmt.Errorf("expression ends early in %q", e.src)
	}
	c := e.src[e.pos]
	switch {
	case c == '\'':
		return e.str()
	case c >= '0' && c <= '9':
		start := e.pos
		for e.pos < len(e.src) && e.src[e.pos] >= '0' && e.src[e.pos] <= '9' {
			e.pos++
		}
		return e.src[start:e.pos], nil
	case unicode.IsLetter(rune(c)):
		start := e.pos
		for e.pos < len(e.src) && (unicode.IsLetter(rune(e.src[e.pos])) || unicode.IsDigit(rune(e.src[e.pos]))) {
			e.pos++
		}
		ident := e.src[start:e.pos]
		if e.pos < len(e.src) && e.src[e.pos] == '(' {
			return e.call(ident)
		}
		if v, ok := e.params[ident]; ok {
			return v, nil
		}
		if v, ok := e.vars[ident]; ok {
			return e.eval(v)
		}
		return "", fmt.Errorf("unknown name %s", ident)
	}
	return "", fmt.Errorf("cannot read %q", e.src[e.pos:])
}

func (e *bicepEval) str() (string, error) {
	e.pos++ // '
	var b strings.Builder
	for e.pos < len(e.src) {
		switch {
		case e.src[e.pos] == '\'':
			e.pos++
			return b.String(), nil
		case strings.HasPrefix(e.src[e.pos:], "${"):
			e.pos += 2
			v, err := e.expr()
			if err != nil {
				return "", err
			}
			e.skip()
			if e.pos >= len(e.src) || e.src[e.pos] != '}' {
				return "", fmt.Errorf("unclosed ${ in %q", e.src)
			}
			e.pos++
			b.WriteString(v)
		default:
			b.WriteByte(e.src[e.pos])
			e.pos++
		}
	}
	return "", fmt.Errorf("unclosed string in %q", e.src)
}

func (e *bicepEval) call(fn string) (string, error) {
	e.pos++ // (
	var args []string
	for {
		e.skip()
		if e.pos < len(e.src) && e.src[e.pos] == ')' {
			e.pos++
			break
		}
		v, err := e.expr()
		if err != nil {
			return "", err
		}
		args = append(args, v)
		e.skip()
		if e.pos < len(e.src) && e.src[e.pos] == ',' {
			e.pos++
		}
	}
	if fn == "resourceGroup" && strings.HasPrefix(e.src[e.pos:], ".id") {
		e.pos += 3
		return "/subscriptions/0/resourceGroups/rg", nil
	}
	switch {
	case fn == "uniqueString":
		return e.unique, nil
	case fn == "toLower" && len(args) == 1:
		return strings.ToLower(args[0]), nil
	case fn == "toUpper" && len(args) == 1:
		return strings.ToUpper(args[0]), nil
	case fn == "replace" && len(args) == 3:
		return strings.ReplaceAll(args[0], args[1], args[2]), nil
	case fn == "take" && len(args) == 2:
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return "", err
		}
		return args[0][:min(n, len(args[0]))], nil
	}
	return "", fmt.Errorf("unknown function %s/%d", fn, len(args))
}

// The GitHub workflow deploys with the same parameters file as a manual
// deployment, so a push never undoes a choice made there; it gives the file
// every value the file reads from the environment; and every variable and
// secret it needs is named in deploy/README.md.
func TestTheWorkflowDeploysWhatTheParametersFileSays(t *testing.T) {
	workflow := readText(t, ".github/workflows/snowbot.yml")
	params := readText(t, "deploy/main.bicepparam")
	readme := readText(t, "deploy/README.md")
	w := workflow
	if !strings.Contains(w, "--parameters deploy/main.bicepparam") {
		t.Error("the workflow does not deploy with deploy/main.bicepparam")
	}
	if m := regexp.MustCompile(`(?m)^\s+(\w+)="\$`).FindString(w); m != "" {
		t.Errorf("the workflow sets a parameter of its own (%s): it would undo the parameters file", strings.TrimSpace(m))
	}
	for _, m := range regexp.MustCompile(`readEnvironmentVariable\('(\w+)'`).FindAllStringSubmatch(params, -1) {
		if !regexp.MustCompile(`(?m)^\s+` + m[1] + `: \$\{\{`).MatchString(w) {
			t.Errorf("the parameters file reads %s from the environment, which the workflow does not set", m[1])
		}
		if !strings.Contains(readme, m[1]) {
			t.Errorf("deploy/README.md does not say to set %s", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`\$\{\{ (?:vars|secrets)\.(\w+) \}\}`).FindAllStringSubmatch(w, -1) {
		if !strings.Contains(readme, "`"+m[1]+"`") {
			t.Errorf("the workflow needs %s, which deploy/README.md does not name", m[1])
		}
	}
	if !strings.Contains(w, `"commit":"${{ github.sha }}"`) {
		t.Error("the smoke check does not wait for the new commit")
	}
}
