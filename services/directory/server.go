package directory

import (
	"context"

	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/grpcerr"
	"github.com/ponte-network/ponte/libs/pagetoken"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/libs/territory"
	"github.com/ponte-network/ponte/libs/updatemask"
	"github.com/ponte-network/ponte/libs/validate"
	"github.com/ponte-network/ponte/services/directory/searchindex"
	"github.com/ponte-network/ponte/services/directory/store"
)

// defaultListSize is the page size of the List methods when the caller gives none.
const defaultListSize = 100

// directoryServer serves organizations, services, locations, taxonomy terms, search
// and the change feed.
type directoryServer struct {
	directoryv1.UnimplementedDirectoryServiceServer
	store   store.Store
	catalog *territory.Catalog
	index   *searchindex.Index // search's read model of the store

	organizations kindOps[*directoryv1.Organization]
	services      kindOps[*directoryv1.Service]
	locations     kindOps[*directoryv1.Location]
	terms         kindOps[*directoryv1.TaxonomyTerm]
}

func newDirectoryServer(st store.Store, c *territory.Catalog) *directoryServer {
	s := &directoryServer{store: st, catalog: c, index: searchindex.New(st, c, searchindex.WithLocalizer(localizePage), searchindex.WithRenderer(renderPage))}
	s.organizations = kindOps[*directoryv1.Organization]{
		st: st, kind: store.KindOrganization, field: "organization",
		newMsg: func() *directoryv1.Organization { return &directoryv1.Organization{} },
		record: s.organizationRecord, authorize: s.authorizeOrganization,
	}
	s.services = kindOps[*directoryv1.Service]{
		st: st, kind: store.KindService, field: "service",
		newMsg: func() *directoryv1.Service { return &directoryv1.Service{} },
		record: s.serviceRecord, authorize: s.authorizeService,
	}
	s.locations = kindOps[*directoryv1.Location]{
		st: st, kind: store.KindLocation, field: "location",
		newMsg: func() *directoryv1.Location { return &directoryv1.Location{} },
		record: s.locationRecord, authorize: s.authorizeLocation,
	}
	s.terms = kindOps[*directoryv1.TaxonomyTerm]{
		st: st, kind: store.KindTaxonomyTerm, field: "taxonomy_term",
		newMsg: func() *directoryv1.TaxonomyTerm { return &directoryv1.TaxonomyTerm{} },
		record: s.termRecord, authorize: s.authorizeTerm,
	}
	return s
}

// kindOps is the AIP standard methods of one kind of record.
type kindOps[T resource] struct {
	st     store.Store
	kind   store.Kind
	field  string // request field holding the resource, for error fields
	newMsg func() T
	// record validates a resource and returns the record to store.
	record func(T) (store.Record, error)
	// authorize checks that the caller may change before into after (nil before: a
	// create; nil after: a delete).
	authorize func(ctx context.Context, before, after T) error
}

func (k kindOps[T]) decode(r store.Record) (T, error) {
	m := k.newMsg()
	return m, decodeRecord(r, m)
}

func (k kindOps[T]) read(ctx context.Context, id string) (T, error) {
	var zero T
	r, err := k.st.GetRecord(ctx, k.kind, id)
	if err != nil {
		return zero, err
	}
	return k.decode(r)
}

func (k kindOps[T]) get(ctx context.Context, id, locale string) (T, error) {
	m, err := k.read(ctx, id)
	if err != nil {
		return m, grpcerr.From(err)
	}
	localize(m, locale)
	return m, nil
}

func (k kindOps[T]) list(ctx context.Context, org string, size int32, token, locale string) ([]T, string, error) {
	query := pagetoken.Query(string(k.kind), org, locale)
	after, err := pagetoken.Decode(token, query)
	if err != nil {
		return nil, "", grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: "page_token", Description: "does not belong to this query: start again without it"})
	}
	if size == 0 {
		size = defaultListSize
	}
	rs, err := k.st.ListRecords(ctx, k.kind, store.ListFilter{OrganizationID: org, After: after, Limit: int(size) + 1})
	if err != nil {
		return nil, "", grpcerr.From(err)
	}
	next := ""
	if len(rs) > int(size) {
		rs = rs[:size]
		next = pagetoken.Encode(query, rs[len(rs)-1].ID)
	}
	out := make([]T, 0, len(rs))
	for _, r := range rs {
		m, err := k.decode(r)
		if err != nil {
			return nil, "", grpcerr.From(err)
		}
		localize(m, locale)
		out = append(out, m)
	}
	return out, next, nil
}

func (k kindOps[T]) create(ctx context.Context, m T) (T, error) {
	var zero T
	m = proto.Clone(m).(T)
	if m.GetId() == "" {
		setID(m, newID())
	}
	r, err := k.record(m)
	if err != nil {
		return zero, err
	}
	if err := k.authorize(ctx, zero, m); err != nil {
		return zero, err
	}
	r, err = k.st.CreateRecord(ctx, r)
	if errors.Is(err, store.ErrAlreadyExists) {
		if existing, rerr := k.st.GetRecord(ctx, k.kind, m.GetId()); rerr == nil && existing.Origin != "" {
			return zero, k.mirrored(m.GetId(), existing.Origin)
		}
	}
	if err != nil {
		return zero, grpcerr.From(err)
	}
	out, err := k.decode(r)
	return out, grpcerr.From(err)
}

func (k kindOps[T]) update(ctx context.Context, id string, m T, mask *fieldmaskpb.FieldMask) (T, error) {
	var zero T
	m = proto.Clone(m).(T)
	switch m.GetId() {
	case "":
		setID(m, id)
	case id:
	default:
		return zero, grpcerr.InvalidArgument(grpcerr.FieldViolation{Field: k.field + ".id", Description: "differs from the id of the path"})
	}
	before, err := k.read(ctx, m.GetId())
	if err != nil {
		return zero, grpcerr.From(err)
	}
	if before.GetOrigin() != "" {
		return zero, k.mirrored(id, before.GetOrigin())
	}
	if m.GetEtag() != "" && m.GetEtag() != before.GetEtag() {
		return zero, grpcerr.From(fmt.Errorf("%s %s: %w", k.kind, m.GetId(), store.ErrConflict))
	}
	after, err := applyMask(before, m, mask)
	if err != nil {
		return zero, err
	}
	if err := validate.Message(k.field, after).Err(); err != nil {
		return zero, err
	}
	r, err := k.record(after)
	if err != nil {
		return zero, err
	}
	if err := k.authorize(ctx, before, after); err != nil {
		return zero, err
	}
	// The store checks the etag read above again, inside its transaction: a write that
	// landed in between is refused rather than overwritten.
	r, err = k.st.UpdateRecord(ctx, r, before.GetEtag())
	if err != nil {
		return zero, grpcerr.From(err)
	}
	out, err := k.decode(r)
	return out, grpcerr.From(err)
}

func (k kindOps[T]) delete(ctx context.Context, id, etag string) error {
	var zero T
	before, err := k.read(ctx, id)
	if err != nil {
		return grpcerr.From(err)
	}
	if before.GetOrigin() != "" {
		return k.mirrored(id, before.GetOrigin())
	}
	if err := k.authorize(ctx, before, zero); err != nil {
		return err
	}
	if etag == "" {
		etag = before.GetEtag()
	}
	return grpcerr.From(k.st.DeleteRecord(ctx, k.kind, id, etag))
}

// mirrored is the error for writing a record mirrored from origin: FAILED_PRECONDITION
// (400) naming the record, whose id field is the request's.
func (k kindOps[T]) mirrored(id, origin string) error {
	return grpcerr.From(storage.FieldErrorf(store.ErrFailedPrecondition, k.field+".id",
		"%s %q is mirrored from %s: change it at its origin", strings.ReplaceAll(string(k.kind), "_", " "), id, origin))
}

func setID(m proto.Message, id string) {
	pr := m.ProtoReflect()
	pr.Set(pr.Descriptor().Fields().ByName("id"), protoreflect.ValueOfString(id))
}

// applyMask applies an update's field mask (libs/updatemask); the id, etag, times and
// origin are never taken from the request.
func applyMask[T proto.Message](before, m T, mask *fieldmaskpb.FieldMask) (T, error) {
	return updatemask.Apply(before, m, mask, "id", "etag", "create_time", "update_time", "origin")
}

// ListOrganizations implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) ListOrganizations(ctx context.Context, req *directoryv1.ListOrganizationsRequest) (*directoryv1.ListOrganizationsResponse, error) {
	list, next, err := s.organizations.list(ctx, "", req.GetPageSize(), req.GetPageToken(), req.GetLocale())
	if err != nil {
		return nil, err
	}
	return &directoryv1.ListOrganizationsResponse{Organizations: list, NextPageToken: next}, nil
}

// GetOrganization implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) GetOrganization(ctx context.Context, req *directoryv1.GetOrganizationRequest) (*directoryv1.Organization, error) {
	return s.organizations.get(ctx, req.GetId(), req.GetLocale())
}

// CreateOrganization implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) CreateOrganization(ctx context.Context, req *directoryv1.CreateOrganizationRequest) (*directoryv1.Organization, error) {
	return s.organizations.create(ctx, req.GetOrganization())
}

// UpdateOrganization implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) UpdateOrganization(ctx context.Context, req *directoryv1.UpdateOrganizationRequest) (*directoryv1.Organization, error) {
	return s.organizations.update(ctx, req.GetId(), req.GetOrganization(), req.GetUpdateMask())
}

// DeleteOrganization implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) DeleteOrganization(ctx context.Context, req *directoryv1.DeleteOrganizationRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, s.organizations.delete(ctx, req.GetId(), req.GetEtag())
}

// ListServices implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) ListServices(ctx context.Context, req *directoryv1.ListServicesRequest) (*directoryv1.ListServicesResponse, error) {
	list, next, err := s.services.list(ctx, req.GetOrganizationId(), req.GetPageSize(), req.GetPageToken(), req.GetLocale())
	if err != nil {
		return nil, err
	}
	return &directoryv1.ListServicesResponse{Services: list, NextPageToken: next}, nil
}

// GetService implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) GetService(ctx context.Context, req *directoryv1.GetServiceRequest) (*directoryv1.Service, error) {
	return s.services.get(ctx, req.GetId(), req.GetLocale())
}

// CreateService implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) CreateService(ctx context.Context, req *directoryv1.CreateServiceRequest) (*directoryv1.Service, error) {
	return s.services.create(ctx, req.GetService())
}

// UpdateService implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) UpdateService(ctx context.Context, req *directoryv1.UpdateServiceRequest) (*directoryv1.Service, error) {
	return s.services.update(ctx, req.GetId(), req.GetService(), req.GetUpdateMask())
}

// DeleteService implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) DeleteService(ctx context.Context, req *directoryv1.DeleteServiceRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, s.services.delete(ctx, req.GetId(), req.GetEtag())
}

// ListLocations implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) ListLocations(ctx context.Context, req *directoryv1.ListLocationsRequest) (*directoryv1.ListLocationsResponse, error) {
	list, next, err := s.locations.list(ctx, req.GetOrganizationId(), req.GetPageSize(), req.GetPageToken(), req.GetLocale())
	if err != nil {
		return nil, err
	}
	return &directoryv1.ListLocationsResponse{Locations: list, NextPageToken: next}, nil
}

// GetLocation implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) GetLocation(ctx context.Context, req *directoryv1.GetLocationRequest) (*directoryv1.Location, error) {
	return s.locations.get(ctx, req.GetId(), req.GetLocale())
}

// CreateLocation implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) CreateLocation(ctx context.Context, req *directoryv1.CreateLocationRequest) (*directoryv1.Location, error) {
	return s.locations.create(ctx, req.GetLocation())
}

// UpdateLocation implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) UpdateLocation(ctx context.Context, req *directoryv1.UpdateLocationRequest) (*directoryv1.Location, error) {
	return s.locations.update(ctx, req.GetId(), req.GetLocation(), req.GetUpdateMask())
}

// DeleteLocation implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) DeleteLocation(ctx context.Context, req *directoryv1.DeleteLocationRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, s.locations.delete(ctx, req.GetId(), req.GetEtag())
}

// ListTaxonomyTerms implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) ListTaxonomyTerms(ctx context.Context, req *directoryv1.ListTaxonomyTermsRequest) (*directoryv1.ListTaxonomyTermsResponse, error) {
	list, next, err := s.terms.list(ctx, req.GetOrganizationId(), req.GetPageSize(), req.GetPageToken(), req.GetLocale())
	if err != nil {
		return nil, err
	}
	return &directoryv1.ListTaxonomyTermsResponse{TaxonomyTerms: list, NextPageToken: next}, nil
}

// GetTaxonomyTerm implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) GetTaxonomyTerm(ctx context.Context, req *directoryv1.GetTaxonomyTermRequest) (*directoryv1.TaxonomyTerm, error) {
	return s.terms.get(ctx, req.GetId(), req.GetLocale())
}

// CreateTaxonomyTerm implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) CreateTaxonomyTerm(ctx context.Context, req *directoryv1.CreateTaxonomyTermRequest) (*directoryv1.TaxonomyTerm, error) {
	return s.terms.create(ctx, req.GetTaxonomyTerm())
}

// UpdateTaxonomyTerm implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) UpdateTaxonomyTerm(ctx context.Context, req *directoryv1.UpdateTaxonomyTermRequest) (*directoryv1.TaxonomyTerm, error) {
	return s.terms.update(ctx, req.GetId(), req.GetTaxonomyTerm(), req.GetUpdateMask())
}

// DeleteTaxonomyTerm implements directoryv1.DirectoryServiceServer.
func (s *directoryServer) DeleteTaxonomyTerm(ctx context.Context, req *directoryv1.DeleteTaxonomyTermRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, s.terms.delete(ctx, req.GetId(), req.GetEtag())
}

// isNotFound reports whether err is the store's not-found.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
