package sqlstore

import (
	"errors"
)

// The constraint violations both adapters report, inside a *ConstraintError.
var (
	// ErrUnique: a unique or primary-key constraint (PostgreSQL 23505).
	ErrUnique = errors.New("unique constraint violated")
	// ErrExclusion: an exclusion constraint (PostgreSQL 23P01; SQLite has none, so a
	// service gives the same guarantee by a check in its serialised write transaction
	// and reports it with NewConstraintError).
	ErrExclusion = errors.New("exclusion constraint violated")
	// ErrForeignKey: a foreign-key constraint (PostgreSQL 23503).
	ErrForeignKey = errors.New("foreign key constraint violated")
	// ErrCheck: a CHECK constraint (PostgreSQL 23514).
	ErrCheck = errors.New("check constraint violated")
)

// ConstraintError is a statement refused by a constraint. errors.Is(err, ErrUnique)
// (or the other kinds) holds; Constraint names the constraint on PostgreSQL and the
// columns on SQLite ("bookings.id"). Its text is internal: map it to a caller-facing
// storage.Error in the service.
type ConstraintError struct {
	Kind       error  // ErrUnique, ErrExclusion, ErrForeignKey or ErrCheck
	Constraint string // the constraint's name (PostgreSQL) or columns (SQLite)
	Err        error  // the driver's error
}

// NewConstraintError reports a violation that the service detected itself.
func NewConstraintError(kind error, constraint string) *ConstraintError {
	return &ConstraintError{Kind: kind, Constraint: constraint}
}

// Error says which kind of constraint refused the statement and which constraint.
func (e *ConstraintError) Error() string {
	return e.Kind.Error() + ": " + e.Constraint
}

// Unwrap returns the kind and the driver's error.
func (e *ConstraintError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Constraint returns the name of the constraint that refused err's statement, or "".
func Constraint(err error) string {
	var ce *ConstraintError
	if errors.As(err, &ce) {
		return ce.Constraint
	}
	return ""
}
