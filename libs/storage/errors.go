// Package storage holds what every service's store shares: the kinds of failure a
// repository reports, so that they map to API errors once (libs/grpcerr). The PostgreSQL
// and SQLite toolkits live in the postgres and sqlite sub-packages.
package storage

import (
	"errors"
	"fmt"

	"github.com/ponte-network/ponte/libs/storage/internal/kinds"
)

// The kinds of failure a store reports. Wrap them (fmt.Errorf("...: %w", ErrNotFound)) or
// build them with Errorf to give the API caller a precise message.
var (
	// ErrNotFound: the record does not exist (or is not visible to the caller).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a record with the same key exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: the caller's etag or expected version is stale.
	ErrConflict = errors.New("version conflict")
	// ErrInvalidArgument: the request cannot be carried out as it is worded (it names
	// more than one record, say), whatever the records' state; give it a Field.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition: the write is refused in the record's current state.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnavailable: the database cannot be reached now (connection refused or lost,
	// server shutting down, embedded store locked too long); the caller may retry.
	ErrUnavailable = kinds.Unavailable
)

// Error is a store failure with a message meant for the API caller (no SQL, no
// personal data), and optionally the request field it concerns.
type Error struct {
	Kind    error  // one of the Err* values above
	Message string // safe to show to the caller
	Field   string // request field it concerns, if any
}

// Error returns the caller-facing message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the kind, so errors.Is(err, ErrNotFound) holds.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of kind with a formatted caller-facing message.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an *Error of kind about one request field.
func FieldErrorf(kind error, field, format string, args ...any) error {
	return &Error{Kind: kind, Field: field, Message: fmt.Sprintf(format, args...)}
}
