package searchindex

import (
	"bufio"
	"bytes"
	"embed"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/italian"

	"github.com/ponte-network/ponte/libs/textfold"
)

// The Snowball stop-word lists of the four of Ponte's eight languages that have one
// (the files PostgreSQL ships as tsearch_data/*.stop; BSD licence, snowballstem.org).
//
//go:embed stopwords/*.txt
var stopwordFiles embed.FS

// stopwords holds the folded stop words of every list.
var stopwords = loadStopwords()

func loadStopwords() map[string]bool {
	out := map[string]bool{}
	entries, err := stopwordFiles.ReadDir("stopwords")
	if err != nil {
		panic(err) // embedded
	}
	for _, e := range entries {
		raw, err := stopwordFiles.ReadFile("stopwords/" + e.Name())
		if err != nil {
			panic(err) // embedded
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			if w := textfold.Fold(strings.TrimSpace(sc.Text())); w != "" {
				out[w] = true
			}
		}
	}
	return out
}

// Analyzer turns text into the index's tokens: folded (case and accents), split into
// words, stop words of Italian, English, French and Spanish and one-letter elisions
// ("l'", "d'") dropped, and every word reduced by the Snowball Italian stemmer (the
// algorithm of PostgreSQL's "italian" text search configuration) whatever its language,
// so that "corso", "corsi" and "course" meet. Han, Hiragana, Katakana and Hangul
// characters, written without spaces, are one token each. It caches stems and is safe
// for concurrent use.
type Analyzer struct {
	mu    sync.Mutex
	stems map[string]string
	env   *snowballstem.Env
}

// NewAnalyzer returns an Analyzer with an empty stem cache.
func NewAnalyzer() *Analyzer {
	return &Analyzer{stems: map[string]string{}, env: snowballstem.NewEnv("")}
}

// maxCachedStems bounds the stem cache: a directory's vocabulary is a few tens of
// thousands of words; queries may bring any number of new ones.
const maxCachedStems = 200000

// stem returns the stem of a folded word.
func (a *Analyzer) stem(w string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.stems[w]; ok {
		return s
	}
	a.env.SetCurrent(w)
	italian.Stem(a.env)
	s := a.env.Current()
	if len(a.stems) >= maxCachedStems {
		clear(a.stems)
	}
	a.stems[w] = s
	return s
}

// isIdeograph reports whether r belongs to a script written without spaces between words.
func isIdeograph(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// words splits folded text into words and ideographs, without analysis.
func words(folded string) []string {
	var out []string
	start := -1
	for i, r := range folded {
		switch {
		case isIdeograph(r):
			if start >= 0 {
				out = append(out, folded[start:i])
				start = -1
			}
			out = append(out, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
			if start < 0 {
				start = i
			}
		default:
			if start >= 0 {
				out = append(out, folded[start:i])
				start = -1
			}
		}
	}
	if start >= 0 {
		out = append(out, folded[start:])
	}
	return out
}

// keep reports whether a word is indexed: not a stop word, and not a single letter
// (elided articles and prepositions) unless it is an ideograph or a digit.
func keep(w string) bool {
	if stopwords[w] {
		return false
	}
	if r := []rune(w); len(r) == 1 && !isIdeograph(r[0]) && !unicode.IsDigit(r[0]) {
		return false
	}
	return true
}

// fold is textfold.Fold for tokenizing: ASCII text (most of it) only needs lower case,
// since white space and punctuation separate words anyway.
func fold(s string) string {
	if !isASCII(s) {
		return textfold.Fold(s)
	}
	return strings.ToLower(s)
}

// isASCII reports whether s is ASCII, which needs none of textfold's Unicode machinery.
func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Tokens returns the sorted, distinct tokens of the texts.
func (a *Analyzer) Tokens(texts ...string) []string {
	var out []string
	for _, t := range texts {
		out = a.appendTokens(out, words(fold(t)))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// appendTokens appends the stems of the words that are kept.
func (a *Analyzer) appendTokens(out, ws []string) []string {
	for _, w := range ws {
		if keep(w) {
			out = append(out, a.stem(w))
		}
	}
	return out
}

// Query returns the sorted, distinct tokens of a free-text query, each to be matched as
// a prefix of an indexed token, and whether the query had words at all: a query made
// only of stop words has words but no tokens, and matches nothing.
func (a *Analyzer) Query(q string) (tokens []string, hasWords bool) {
	ws := words(fold(q))
	tokens = a.appendTokens(nil, ws)
	slices.Sort(tokens)
	return slices.Compact(tokens), len(ws) > 0
}
