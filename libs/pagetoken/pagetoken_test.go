package pagetoken_test

import (
	"errors"
	"testing"

	"github.com/ponte-network/ponte/libs/pagetoken"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	q := pagetoken.Query("parent=019", "level=municipality")
	tok := pagetoken.Encode(q, "019035")
	got, err := pagetoken.Decode(tok, q)
	if err != nil || got != "019035" {
		t.Fatalf("Decode = %q, %v; want 019035", got, err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	q := pagetoken.Query("parent=019")
	tests := []struct {
		name, tok string
	}{
		{"a token from another query", pagetoken.Encode(pagetoken.Query("parent=098"), "098001")},
		{"garbage", "not a token!"},
		{"valid base64 that is not a token", "aGVsbG8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := pagetoken.Decode(tt.tok, q); !errors.Is(err, pagetoken.ErrInvalid) {
				t.Errorf("Decode(%q) error = %v, want ErrInvalid", tt.tok, err)
			}
		})
	}
}

func TestQueryDistinguishesParameterBoundaries(t *testing.T) {
	t.Parallel()
	if pagetoken.Query("ab", "c") == pagetoken.Query("a", "bc") {
		t.Error("Query must not collide when parameters are split differently")
	}
	if c, err := pagetoken.Decode("", "x"); c != "" || err != nil {
		t.Errorf("empty token = %q, %v; want first page", c, err)
	}
}
