package doclinks

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestEveryRelativeLinkOfTheDocumentationResolves(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "..")
	if _, err := os.Stat(filepath.Join(root, "README.md")); err != nil {
		t.Fatalf("repository root not found from the package: %v", err)
	}
	broken, err := Check(root, Pages)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range broken {
		t.Errorf("broken link %s", b)
	}
}

func TestCheckFindsBrokenLinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Top\n\n## Two `commands`\n\n"+
		"[ok](docs/a.md) [ok](docs/a.md#the-section-1) [ok](#two-commands) [web](https://x.example/y)\n"+
		"[missing](docs/b.md) [bad anchor](docs/a.md#nowhere) [bad local](#nowhere)\n"+
		"```\n[in code](nothing.md)\n```\n`[inline](nothing.md)`\n")
	write("docs/a.md", "# A\n\n## The section\n\n## The section\n\n[up](../README.md#top)\n")
	broken, err := Check(dir, []string{"README.md", "docs/*.md"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range broken {
		got = append(got, b.String())
	}
	want := []string{
		"README.md:6: docs/b.md: no such file",
		"README.md:6: docs/a.md#nowhere: no such heading",
		"README.md:6: #nowhere: no such heading",
	}
	if !slices.Equal(got, want) {
		t.Errorf("broken links:\n got %q\nwant %q", got, want)
	}
}

func TestSlug(t *testing.T) {
	t.Parallel()
	tests := []struct{ heading, want string }{
		{"Two commands", "two-commands"},
		{"Search through the REST edge, run by run", "search-through-the-rest-edge-run-by-run"},
		{"Tokens, roles and territories", "tokens-roles-and-territories"},
		{"The `ponte` binary", "the-ponte-binary"},
		{"Forlì & Cesena", "forlì--cesena"},
	}
	for _, tt := range tests {
		if got := Slug(tt.heading); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}
