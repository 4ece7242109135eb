// Package textfold folds text for case- and accent-insensitive matching, so that a
// user typing "forli" or "FORLÌ" finds "Forlì" and "cours d'italien" matches "Cours d’Italien".
package textfold

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Fold returns s lower-cased, without combining marks (accents), with typographic
// apostrophes and dashes made plain and runs of white space collapsed to one space.
func Fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		// The chain never fails on valid or invalid UTF-8 alike; keep the input if it ever does.
		folded = s
	}
	var b strings.Builder
	b.Grow(len(folded))
	space := false
	for _, r := range folded {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case r == '’' || r == '‘' || r == 'ʼ' || r == '`':
			r = '\''
		case r == '–' || r == '—' || r == '‐':
			r = '-'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Contains reports whether the folded form of s contains the folded form of sub.
func Contains(s, sub string) bool {
	return strings.Contains(Fold(s), Fold(sub))
}
