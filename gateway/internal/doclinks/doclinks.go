// Package doclinks checks the relative links of Ponte's Markdown documentation: every link from
// README.md, docs/*.md and deploy/*.md to a file of the repository must name a file that exists,
// and a link to a heading (`page.md#section`, or `#section` within the page) must name a heading
// of that page, slugged as GitHub renders it. Links with a scheme (https:, mailto:) are not
// followed: CI runs offline.
package doclinks

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// Pages are the Markdown files checked, as globs relative to the repository root.
var Pages = []string{"README.md", "docs/*.md", "deploy/*.md"}

// Broken is one link that does not resolve.
type Broken struct {
	Page   string // the page holding the link, relative to the root
	Line   int    // 1-based line of the link
	Target string // the link as written
	Reason string // why it does not resolve
}

func (b Broken) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", b.Page, b.Line, b.Target, b.Reason)
}

var (
	linkRE    = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	schemeRE  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
	headingRE = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	inlineRE  = regexp.MustCompile("`[^`]*`")
)

// Check reads the pages matching globs under root and returns every link that does not resolve.
func Check(root string, globs []string) ([]Broken, error) {
	var pages []string
	for _, g := range globs {
		m, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", g, err)
		}
		pages = append(pages, m...)
	}
	anchors := map[string]map[string]bool{} // absolute page path -> its heading slugs
	load := func(path string) (map[string]bool, error) {
		if a, ok := anchors[path]; ok {
			return a, nil
		}
		a, err := headingSlugs(path)
		if err != nil {
			return nil, err
		}
		anchors[path] = a
		return a, nil
	}
	var broken []Broken
	for _, page := range pages {
		links, err := pageLinks(page)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(root, page)
		for _, l := range links {
			if schemeRE.MatchString(l.target) {
				continue
			}
			file, frag, _ := strings.Cut(l.target, "#")
			dest := page
			if file != "" {
				dest = filepath.Join(filepath.Dir(page), filepath.FromSlash(file))
				st, err := os.Stat(dest)
				if err != nil {
					broken = append(broken, Broken{rel, l.line, l.target, "no such file"})
					continue
				}
				if st.IsDir() || frag == "" || !strings.HasSuffix(dest, ".md") {
					continue
				}
			}
			if frag == "" {
				continue
			}
			a, err := load(dest)
			if err != nil {
				return nil, err
			}
			if !a[frag] {
				broken = append(broken, Broken{rel, l.line, l.target, "no such heading"})
			}
		}
	}
	return broken, nil
}

type link struct {
	line   int
	target string
}

// pageLinks returns the links of a page outside fenced code blocks and inline code.
func pageLinks(path string) ([]link, error) {
	var out []link
	err := eachLine(path, func(n int, s string) {
		for _, m := range linkRE.FindAllStringSubmatch(inlineRE.ReplaceAllString(s, ""), -1) {
			out = append(out, link{n, strings.Trim(m[1], "<>")})
		}
	})
	return out, err
}

// headingSlugs returns the anchors GitHub gives the headings of a page.
func headingSlugs(path string) (map[string]bool, error) {
	slugs := map[string]bool{}
	seen := map[string]int{}
	err := eachLine(path, func(_ int, s string) {
		m := headingRE.FindStringSubmatch(s)
		if m == nil {
			return
		}
		slug := Slug(m[2])
		if n := seen[slug]; n > 0 {
			slugs[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			slugs[slug] = true
		}
		seen[slug]++
	})
	return slugs, err
}

// eachLine calls fn with every line of a page that is outside a fenced code block.
func eachLine(path string, fn func(n int, s string)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open page: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	fenced := false
	for n := 1; sc.Scan(); n++ {
		s := sc.Text()
		if t := strings.TrimSpace(s); strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fenced = !fenced
			continue
		}
		if !fenced {
			fn(n, s)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// Slug is the anchor GitHub derives from a heading's text: lower case, markup and punctuation
// other than '-' and '_' dropped, spaces turned into '-'.
func Slug(heading string) string {
	heading = strings.NewReplacer("`", "", "*", "").Replace(heading)
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
