// Package store is the directory's repository interface and its errors. Implementations
// (postgres, sqlite) must pass storetest.Run.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
)

// Errors a Store returns, wrapped or as *storage.Error.
var (
	ErrNotFound           = storage.ErrNotFound
	ErrAlreadyExists      = storage.ErrAlreadyExists
	ErrFailedPrecondition = storage.ErrFailedPrecondition
)

// TopicDistrict is the change-log topic of district records; payload: the District as JSON.
const TopicDistrict = "district"

// District is an ambito territoriale: a named group of municipalities within one region.
type District struct {
	Code           string    `json:"code"`
	Name           string    `json:"name"`
	RegionCode     string    `json:"region_code"`
	Municipalities []string  `json:"municipalities"` // six-digit ISTAT codes, sorted
	CreateTime     time.Time `json:"create_time"`
}

// Store keeps the directory's records.
type Store interface {
	// CreateDistrict stores d (its CreateTime is set by the store) and records it in the
	// change log in the same transaction. It must return ErrAlreadyExists if the code is
	// taken, and a *storage.Error of kind ErrFailedPrecondition naming the field
	// "territory.municipality_codes" if a municipality already belongs to another
	// district; then nothing is written.
	CreateDistrict(ctx context.Context, d District) (District, error)
	// GetDistrict must return ErrNotFound if there is no district with that code.
	GetDistrict(ctx context.Context, code string) (District, error)
	// ListDistricts returns every district, ordered by code, with sorted municipalities.
	ListDistricts(ctx context.Context) ([]District, error)
	// Changes is the directory's change feed.
	Changes() changelog.Feed
	// Ready returns nil when the store is reachable and its schema is current.
	Ready(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// ChangeEntry is the change-log entry that records d's creation or update.
func ChangeEntry(d District) changelog.Entry {
	payload, err := json.Marshal(d)
	if err != nil { // a District always marshals
		panic(err)
	}
	return changelog.Entry{Topic: TopicDistrict, Key: d.Code, Op: changelog.OpUpsert, Payload: payload}
}

// MunicipalityTakenError is the error a store returns when municipality already belongs
// to district.
func MunicipalityTakenError(municipality, district string) error {
	return storage.FieldErrorf(ErrFailedPrecondition, "territory.municipality_codes",
		"municipality %s already belongs to district %s", municipality, district)
}
