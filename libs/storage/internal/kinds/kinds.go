// Package kinds holds the failure kinds that package storage exports and that its
// sub-packages (postgres, sqlite) must name too without importing storage, which imports
// them.
package kinds

import "errors"

// Unavailable is storage.ErrUnavailable.
var Unavailable = errors.New("database unavailable")
