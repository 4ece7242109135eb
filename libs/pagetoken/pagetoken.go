// Package pagetoken makes the opaque page tokens of List methods: a cursor bound to the
// query that produced it, so that a token replayed with other filters is refused
// instead of silently returning the wrong page.
package pagetoken

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// ErrInvalid is returned for a token that is malformed or belongs to another query.
var ErrInvalid = errors.New("invalid page token")

// Query fingerprints the filters of a List call: pass every parameter that shapes the
// result, except the page size and the token.
func Query(params ...string) string {
	h := sha256.New()
	for _, p := range params {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

type token struct {
	Query  string `json:"q"`
	Cursor string `json:"c"`
}

// Encode returns the token that resumes query after cursor.
func Encode(query, cursor string) string {
	b, err := json.Marshal(token{Query: query, Cursor: cursor})
	if err != nil { // two strings always marshal
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the cursor of tok if tok was made for query. An empty token is the first
// page: cursor "" and no error.
func Decode(tok, query string) (string, error) {
	if tok == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	if err != nil {
		return "", ErrInvalid
	}
	var t token
	if err := json.Unmarshal(raw, &t); err != nil || t.Query != query {
		return "", ErrInvalid
	}
	return t.Cursor, nil
}
