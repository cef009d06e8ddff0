package monitoring_test

// The runbook (docs/runbook.md) against the alerts: every alert's
// runbook_url resolves to its own section, and every section says what
// the alert means, how to confirm it with a command or a query, the likely
// causes and the fix. The PromQL the runbook gives must parse (promtool)
// and name metrics our programs export (TestExpressionsUseExportedMetrics
// adds runbookExprs).
//
// runbook_url is GitHub's address of the section on the main branch:
// https://github.com/vertice/vertice/blob/main/<path>#<anchor>, the anchor
// being GitHub's slug of the heading (githubAnchor). The test maps the
// address back to <path> in this repository.

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	runbookPath = "docs/runbook.md"
	// runbookBase is where repository files live on GitHub.
	runbookBase = "https://github.com/vertice/vertice/blob/main/"
)

// section is one "## " heading of a Markdown file and the text under it.
type section struct {
	heading, anchor, body string
}

// fence opens or closes a fenced code block, with its info string.
var fence = regexp.MustCompile("^\\s*(```|~~~)\\s*([A-Za-z0-9_+-]*)")

// markdownSections splits a Markdown text at its level-2 headings,
// ignoring lines inside fenced code blocks.
func markdownSections(text string) []section {
	var out []section
	seen := map[string]int{}
	inFence := false
	for _, line := range strings.SplitAfter(text, "\n") {
		if fence.MatchString(line) {
			inFence = !inFence
		}
		if !inFence && strings.HasPrefix(line, "## ") {
			h := strings.TrimSpace(strings.TrimPrefix(line, "## "))
			a := githubAnchor(h)
			if n := seen[a]; n > 0 {
				seen[a] = n + 1
				a = fmt.Sprintf("%s-%d", a, n)
			} else {
				seen[a] = 1
			}
			out = append(out, section{heading: h, anchor: a})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].body += line
		}
	}
	return out
}

// githubAnchor is GitHub's slug of a heading: lower case, punctuation
// dropped (except - and _), spaces turned into hyphens.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 && isLetter(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isLetter(r rune) bool { return strings.ToUpper(string(r)) != strings.ToLower(string(r)) }

func TestGitHubAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"ServiceRegistryNoServices": "serviceregistrynoservices",
		"Before you start":          "before-you-start",
		"Runbook: Vértice's alerts": "runbook-vértices-alerts",
		"a_b  c-d (e.f)":            "a_b--c-d-ef",
	} {
		if got := githubAnchor(heading); got != want {
			t.Errorf("githubAnchor(%q) = %q, want %q", heading, got, want)
		}
	}
	s := markdownSections("# T\n## A\nx\n```sh\n## not a heading\n```\n## A\ny\n")
	if len(s) != 2 || s[0].anchor != "a" || s[1].anchor != "a-1" || !strings.Contains(s[0].body, "## not a heading") {
		t.Errorf("markdownSections: %+v", s)
	}
}

// codeBlock is one fenced block: its info string and its lines.
type codeBlock struct {
	lang  string
	lines []string
}

func codeBlocks(body string) []codeBlock {
	var out []codeBlock
	var cur *codeBlock
	for _, line := range strings.Split(body, "\n") {
		if m := fence.FindStringSubmatch(line); m != nil {
			if cur == nil {
				cur = &codeBlock{lang: m[2]}
			} else {
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			cur.lines = append(cur.lines, line)
		}
	}
	return out
}

// commands are a block's lines that are neither blank nor comments.
func (c codeBlock) commands() []string {
	var out []string
	for _, l := range c.lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// runbookParts are the bold labels every alert's section has, in order.
var runbookParts = []string{"**Severity:**", "**What it means.**", "**Confirm.**", "**Likely causes.**", "**Fix.**"}

var severityLine = regexp.MustCompile(`\*\*Severity:\*\*\s*([a-z]+)`)

// resolveRunbookURL maps a runbook_url to a file of this repository and
// the section its anchor names.
func resolveRunbookURL(u string) (file string, s section, err error) {
	if !strings.HasPrefix(u, runbookBase) {
		return "", s, fmt.Errorf("%q does not start with %s", u, runbookBase)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return "", s, err
	}
	file = strings.TrimPrefix(parsed.Path, strings.TrimPrefix(runbookBase, "https://github.com"))
	if parsed.Fragment == "" {
		return file, s, fmt.Errorf("%q names no section (#anchor)", u)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(file)))
	if err != nil {
		return file, s, fmt.Errorf("%q: %w", u, err)
	}
	for _, sec := range markdownSections(string(b)) {
		if sec.anchor == parsed.Fragment {
			return file, sec, nil
		}
	}
	return file, s, fmt.Errorf("%q: %s has no heading with anchor #%s", u, file, parsed.Fragment)
}

// TestRunbookHasASectionForEveryAlert: each alert's runbook_url leads to
// the section headed with its name, which states its severity, has every
// part, and gives a command or query to confirm it and a numbered fix.
func TestRunbookHasASectionForEveryAlert(t *testing.T) {
	for _, r := range alertRules(t) {
		u := r.Annotations["runbook_url"]
		if u == "" {
			t.Errorf("%s: no runbook_url annotation", r.Alert)
			continue
		}
		file, sec, err := resolveRunbookURL(u)
		if err != nil {
			t.Errorf("%s: runbook_url: %v", r.Alert, err)
			continue
		}
		where := fmt.Sprintf("%s, section %q", file, sec.heading)
		if sec.heading != r.Alert {
			t.Errorf("%s: runbook_url leads to %s, not to the alert's own section", r.Alert, where)
			continue
		}
		checkRunbookSection(t, where, sec.body, r.Labels["severity"])
	}
}

func checkRunbookSection(t *testing.T, where, body, severity string) {
	t.Helper()
	at := 0
	for _, p := range runbookParts {
		i := strings.Index(body[at:], p)
		if i < 0 {
			t.Errorf("%s: no %s (after the parts before it: %s)", where, p, strings.Join(runbookParts, ", "))
			return
		}
		at += i
	}
	if m := severityLine.FindStringSubmatch(body); m == nil || m[1] != severity {
		t.Errorf("%s: severity %v, but the rule says %q", where, m, severity)
	}
	confirm := body[strings.Index(body, "**Confirm.**"):strings.Index(body, "**Likely causes.**")]
	commands := 0
	for _, b := range codeBlocks(confirm) {
		commands += len(b.commands())
	}
	if commands == 0 {
		t.Errorf("%s: **Confirm.** names no command or query (a fenced block with one)", where)
	}
	causes := body[strings.Index(body, "**Likely causes.**"):strings.Index(body, "**Fix.**")]
	fix := body[strings.Index(body, "**Fix.**"):]
	for name, part := range map[string]string{"**Likely causes.**": causes, "**Fix.**": fix} {
		if !regexp.MustCompile(`(?m)^1\. `).MatchString(part) {
			t.Errorf("%s: %s is not a numbered list (in the order to try)", where, name)
		}
	}
	if !strings.Contains(fix, "`") {
		t.Errorf("%s: **Fix.** names no command or setting", where)
	}
}

// TestRunbookHasNoStrayAlertSections: a section written like an alert's
// (it has a severity) is an alert's, so renamed or removed alerts do not
// leave stale advice; and the runbook's own links land on its headings.
func TestRunbookHasNoStrayAlertSections(t *testing.T) {
	alerts := map[string]bool{}
	for _, r := range alertRules(t) {
		alerts[r.Alert] = true
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, runbookPath))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, s := range markdownSections(string(b)) {
		anchors[s.anchor] = true
		if strings.Contains(s.body, "**Severity:**") && !alerts[s.heading] {
			t.Errorf("%s: section %q reads like an alert's, but %s has no such alert", runbookPath, s.heading, rulesFile)
		}
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(string(b), -1) {
		if !anchors[m[1]] {
			t.Errorf("%s links to #%s, which is no heading of it", runbookPath, m[1])
		}
	}
}

// runbookExprs are the runbook's PromQL queries: each line of a promql
// block.
func runbookExprs(t *testing.T) []expression {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, runbookPath))
	if err != nil {
		t.Fatal(err)
	}
	var out []expression
	for _, s := range markdownSections(string(b)) {
		for _, block := range codeBlocks(s.body) {
			if block.lang != "promql" {
				continue
			}
			for _, q := range block.commands() {
				out = append(out, expression{where: fmt.Sprintf("%s, section %q", runbookPath, s.heading), expr: q})
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no promql blocks", runbookPath)
	}
	return out
}

// TestRunbookQueriesParse hands every runbook query to promtool as a
// recording rule: a query that does not parse fails here.
func TestRunbookQueriesParse(t *testing.T) {
	exprs := runbookExprs(t)
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range exprs {
		rules = append(rules, rule{Record: fmt.Sprintf("runbook:query_%d", i), Expr: e.expr})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "runbook", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "runbook.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := runTool(t, dir, "promtool", "check", "rules", "runbook.yml")
	if !strings.Contains(out, fmt.Sprintf("%d rules found", len(exprs))) {
		t.Errorf("promtool did not check the %d runbook queries:\n%s", len(exprs), out)
	}
}
