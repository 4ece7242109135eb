package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/ponte-network/ponte/proto/ponte/mediators/v1"
	validatev1 "github.com/ponte-network/ponte/proto/ponte/validate/v1"
)

func TestPatternMaxLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pattern string
		want    int
		bounded bool
	}{
		{"an id pattern bounds its length", `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`, 64, true},
		{"an empty alternative keeps the other's bound", `^$|^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`, 64, true},
		{"a fixed-width code is its width", `^[0-9]{6}$`, 6, true},
		{"literals count their runes", `^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$`, 5, true},
		{"an optional part counts whole", `^\+?[0-9][0-9 ]{5,19}$`, 21, true},
		{"a star is unbounded", `^[a-z]*$`, 0, false},
		{"a prefix-only pattern bounds nothing", `^$|^https://`, 0, false},
		{"an unanchored pattern bounds nothing", `[a-z]{2}`, 0, false},
		{"no pattern bounds nothing", ``, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := patternMaxLength(tt.pattern)
			if ok != tt.bounded || (ok && got != tt.want) {
				t.Errorf("patternMaxLength(%q) = %d, %v; want %d, %v", tt.pattern, got, ok, tt.want, tt.bounded)
			}
		})
	}
}

// TestApplyWritesTheRulesOfTheMessages completes a small document naming mediators'
// messages and methods, and reads back what the rules of mediators.proto say.
func TestApplyWritesTheRulesOfTheMessages(t *testing.T) {
	t.Parallel()
	doc := `openapi: 3.0.3
paths:
    /v1/bookings:
        get:
            operationId: MediatorService_ListBookings
            parameters:
                - name: pageSize
                  in: query
                  schema:
                    type: integer
                    format: int32
                - name: mediatorId
                  in: query
                  schema:
                    type: string
components:
    schemas:
        Booking:
            type: object
            properties:
                requestingOrganizationType:
                    enum:
                        - ORGANIZATION_TYPE_UNSPECIFIED
                        - ORGANIZATION_TYPE_SCHOOL
                    type: string
                    format: enum
                variety:
                    type: string
                meetingLink:
                    type: string
                durationMinutes:
                    type: integer
                    format: int32
`
	out, err := Apply([]byte(doc), protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	at := func(path ...any) any {
		var v any = got
		for _, p := range path {
			switch k := p.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}
	booking := []any{"components", "schemas", "Booking"}
	prop := func(name, key string) any { return at(append(booking, "properties", name, key)...) }
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"a closed message refuses other properties", at(append(booking, "additionalProperties")...), false},
		{"max_len is maxLength", prop("variety", "maxLength"), 60},
		{"max_len and pattern both hold", prop("meetingLink", "pattern"), "^$|^https://"},
		{"int32 gte is minimum", prop("durationMinutes", "minimum"), 15},
		{"int32 lte is maximum", prop("durationMinutes", "maximum"), 480},
		{"enum not_in drops the value", prop("requestingOrganizationType", "enum"), []any{"ORGANIZATION_TYPE_SCHOOL"}},
		{"a query parameter takes its field's range", at("paths", "/v1/bookings", "get", "parameters", 0, "schema", "maximum"), 500},
		{"a bounded pattern gives a query parameter its maxLength", at("paths", "/v1/bookings", "get", "parameters", 1, "schema", "maxLength"), 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !equal(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func equal(a, b any) bool {
	x, _ := yaml.Marshal(a)
	y, _ := yaml.Marshal(b)
	return string(x) == string(y)
}

// TestTextPatternIsTheRuleOfRulesProto keeps the document's pattern for free text and
// the CEL rule the services enforce saying the same thing.
func TestTextPatternIsTheRuleOfRulesProto(t *testing.T) {
	t.Parallel()
	opts := validatev1.E_Text.TypeDescriptor().Options()
	rule, ok := proto.GetExtension(opts, validate.E_Predefined).(*validate.PredefinedRules)
	if !ok || len(rule.GetCel()) != 1 {
		t.Fatalf("(ponte.validate.v1.text) has no predefined CEL rule")
	}
	expr := rule.GetCel()[0].GetExpression()
	if !strings.Contains(expr, "this.matches('"+strings.ReplaceAll(TextPattern, `\`, `\\`)+"')") {
		t.Errorf("CEL rule %q does not match the pattern %s", expr, TextPattern)
	}
	re := regexp.MustCompile(TextPattern)
	for _, s := range []string{"Sportello stranieri", "riga 1\nriga 2\r\n\tfine", "città è"} {
		if !re.MatchString(s) {
			t.Errorf("%q is free text, refused", s)
		}
	}
	for _, s := range []string{"a\x00b", "a\x1bb", "\x7f", "\x0c"} {
		if re.MatchString(s) {
			t.Errorf("%q holds a control character, accepted", s)
		}
	}
}

// TestCommittedDocumentIsComplete fails when the committed document was generated
// without this step: every message schema is closed.
func TestCommittedDocumentIsComplete(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../openapi/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for name, s := range doc.Components.Schemas {
		if _, ok := s["additionalProperties"]; !ok {
			t.Errorf("schema %s has no additionalProperties: run make generate", name)
		}
	}
}
