package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Locales are the interface languages of the pages, Italian first (the fallback): the
// eight locales the directory has labels for.
var Locales = []string{"it", "en", "fr", "ar", "ro", "es", "uk", "zh"}

// rtl are the locales written right to left.
var rtl = map[string]bool{"ar": true}

//go:embed locales/*.json
var localeFiles embed.FS

// catalog holds the interface messages of every locale.
type catalog struct {
	messages map[string]map[string]string // locale → key → text
	matcher  language.Matcher
	tags     []language.Tag
}

// loadCatalog reads the embedded messages and refuses a locale that lacks a key of the
// Italian one, so that a missing translation fails at start (and in tests), never as an
// empty label in a page.
func loadCatalog() (*catalog, error) {
	c := &catalog{messages: map[string]map[string]string{}}
	for _, loc := range Locales {
		raw, err := fs.ReadFile(localeFiles, path.Join("locales", loc+".json"))
		if err != nil {
			return nil, fmt.Errorf("web messages %s: %w", loc, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("web messages %s: %w", loc, err)
		}
		c.messages[loc] = m
		c.tags = append(c.tags, language.MustParse(loc))
	}
	for key := range c.messages["it"] {
		for _, loc := range Locales {
			if c.messages[loc][key] == "" {
				return nil, fmt.Errorf("web messages %s: no text for %q", loc, key)
			}
		}
	}
	// The observatory speaks Italian and English, like the indicator catalog.
	for _, loc := range []string{"it", "en"} {
		raw, err := fs.ReadFile(localeFiles, path.Join("locales", "observatory-"+loc+".json"))
		if err != nil {
			return nil, fmt.Errorf("observatory messages %s: %w", loc, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("observatory messages %s: %w", loc, err)
		}
		for k, v := range m {
			c.messages[loc][k] = v
		}
	}
	for key := range c.messages["en"] {
		if c.messages["it"][key] == "" {
			return nil, fmt.Errorf("observatory messages it: no text for %q", key)
		}
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

// pick returns the interface locale for a request: the hl parameter when it names one of
// Locales, else the best match of Accept-Language, else Italian.
func (c *catalog) pick(r *http.Request) string {
	if hl := r.URL.Query().Get("hl"); hl != "" {
		for _, loc := range Locales {
			if hl == loc {
				return loc
			}
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return "it"
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return "it"
	}
	return Locales[i]
}

// T is the translator of one page: messages and language names in its locale.
type T struct {
	Locale string
	c      *catalog
	namer  display.Namer
}

func (c *catalog) translator(locale string) T {
	return T{Locale: locale, c: c, namer: display.Tags(language.MustParse(locale))}
}

// Msg returns the message key in the page's locale with {name} placeholders replaced by
// the pairs of args (name, value, name, value...).
func (t T) Msg(key string, args ...any) string {
	s, ok := t.c.messages[t.Locale][key]
	if !ok {
		s = t.c.messages["it"][key]
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return s
}

// Dir is the writing direction of the page's locale, for <html dir>.
func (t T) Dir() string {
	if rtl[t.Locale] {
		return "rtl"
	}
	return "ltr"
}

// LanguageName names an ISO 639 code in the page's locale ("ar" → "arabo" in Italian),
// or returns the code when the name is unknown.
func (t T) LanguageName(code string) string {
	tag, err := language.Parse(code)
	if err != nil {
		return code
	}
	if name := t.namer.Name(tag); name != "" {
		return name
	}
	return code
}

// SelfName is a locale's own name ("العربية"), for the language switch.
func (t T) SelfName(locale string) string { return t.c.messages[locale]["lang_name"] }
