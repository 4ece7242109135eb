package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/store"
)

// SourceDirectory is the name of the directory feed's cursor.
const SourceDirectory = "directory"

// DirectoryFeed is the part of the directory API reporting reads: its public change
// feed (the directory is public data).
type DirectoryFeed interface {
	ListChanges(ctx context.Context, req *directoryv1.ListChangesRequest, opts ...grpc.CallOption) (*directoryv1.ListChangesResponse, error)
}

// DirectorySource reads the directory's change feed.
type DirectorySource struct {
	Feed DirectoryFeed
	Keys Keys
}

// Name implements Source.
func (DirectorySource) Name() string { return SourceDirectory }

// Read implements Source.
func (s DirectorySource) Read(ctx context.Context, after int64, page *Page) (Read, error) {
	resp, err := s.Feed.ListChanges(ctx, &directoryv1.ListChangesRequest{After: after, PageSize: PageSize})
	if err != nil {
		return Read{}, fmt.Errorf("read the directory feed: %w", err)
	}
	return readEntries("directory", resp.GetNextAfter(), resp.GetHead(), resp.GetChanges(), page,
		func(ch *directoryv1.Change) ([]store.Change, error) { return DirectoryFacts(s.Keys, ch, page.Prior) })
}

// serviceFactID names the n-th fact of a service.
func serviceFactID(id string, n int64) string { return fmt.Sprintf("service:%s#%d", id, n) }

// DirectoryFacts returns the changes one directory entry makes.
//
// A location ("location:<id>", kind directory_location) keeps its municipality, so that
// a service's facts can be placed; it is measured by no indicator.
//
// An active service of this directory (not mirrored from another, which counts it
// itself) is one service_mapped fact per combination of its taxonomy terms, languages
// and its locations' municipalities ("service:<id>#0", "#1", ... in sorted order), each
// with the service's keyed pseudonym as its "person", so that the distinct count of a
// cell is the number of services in it, and a total counts each service once. The day
// is the service's creation. The first fact's quantity holds how many there are, so
// that a later entry deletes those it no longer makes. A service without terms,
// languages or located municipality leaves those dimensions empty ("_U" in answers).
// A location moved later re-places its services at their next change, or a rebuild.
func DirectoryFacts(k Keys, ch *directoryv1.Change, prior Prior) ([]store.Change, error) {
	id := ch.GetKey()
	if id == "" {
		return nil, errors.New("directory entry without a key")
	}
	deleted := ch.GetOp() == "delete"
	switch ch.GetTopic() {
	case "location":
		factID := "location:" + id
		if deleted {
			return []store.Change{{ID: factID}}, nil
		}
		loc := &directoryv1.Location{}
		if err := decodeDoc(ch, loc); err != nil {
			return nil, err
		}
		cell, err := store.EncodeCell(map[string]string{catalog.DimMunicipality: loc.GetMunicipalityCode()})
		if err != nil {
			return nil, err
		}
		return []store.Change{{ID: factID, Fact: &store.Fact{Kind: catalog.KindDirectoryLocation, Day: store.DayOf(ch.GetTime().AsTime()), Cell: cell, Key: k.Record(factID)}}}, nil
	case "service":
	default:
		return nil, nil
	}
	old, had, err := prior(serviceFactID(id, 0))
	if err != nil {
		return nil, err
	}
	var before int64
	if had {
		before = max(1, old.Quantity)
	}
	var out []store.Change
	svc := &directoryv1.Service{}
	if !deleted {
		if err := decodeDoc(ch, svc); err != nil {
			return nil, err
		}
	}
	status := svc.GetStatus()
	if !deleted && (status == "" || status == "active") && svc.GetOrigin() == "" {
		var muns []string
		for _, sal := range svc.GetServiceAtLocations() {
			loc, ok, err := prior("location:" + sal.GetLocationId())
			if err != nil {
				return nil, err
			}
			if ok {
				if m := store.DecodeCell(loc.Cell)[catalog.DimMunicipality]; m != "" {
					muns = append(muns, m)
				}
			}
		}
		terms, langs := orEmpty(svc.GetTaxonomyTermIds()), orEmpty(svc.GetLanguages())
		muns = orEmpty(muns)
		created := ch.GetTime().AsTime()
		if svc.GetCreateTime() != nil {
			created = svc.GetCreateTime().AsTime()
		}
		day := store.DayOf(created)
		person, pkey := k.Person("service:" + id)
		var cells []string
		for _, term := range terms {
			for _, lang := range langs {
				for _, mun := range muns {
					cell, err := store.EncodeCell(map[string]string{
						catalog.DimTaxonomyTerm: term, catalog.DimLanguage: strings.ToLower(lang), catalog.DimMunicipality: mun,
					})
					if err != nil {
						return nil, err
					}
					cells = append(cells, cell)
				}
			}
		}
		slices.Sort(cells)
		cells = slices.Compact(cells)
		for n, cell := range cells {
			factID := serviceFactID(id, int64(n))
			f := &store.Fact{Kind: catalog.KindServiceMapped, Day: day, Cell: cell, Person: person, PersonKey: pkey, Key: k.Record(factID)}
			if n == 0 {
				f.Quantity = int64(len(cells))
			}
			out = append(out, store.Change{ID: factID, Fact: f})
		}
	}
	for n := int64(len(out)); n < before; n++ {
		out = append(out, store.Change{ID: serviceFactID(id, n)})
	}
	return out, nil
}

// orEmpty returns the sorted distinct values, or one empty value when there are none.
func orEmpty(values []string) []string {
	out := slices.Clone(values)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

// decodeDoc reads a directory change's payload (the record's protojson document with
// its etag, times and origin) into m.
func decodeDoc(ch *directoryv1.Change, m proto.Message) error {
	if err := decodeStruct(ch.GetPayload(), m); err != nil {
		return fmt.Errorf("payload of %s %s: %w", ch.GetTopic(), ch.GetKey(), err)
	}
	return nil
}
