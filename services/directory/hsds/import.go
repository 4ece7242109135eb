package hsds

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

// Outcome is what Import did with one record.
type Outcome string

// The outcomes of Import.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
	Failed    Outcome = "failed"
)

// Result is one record's outcome.
type Result struct {
	Kind    string // "organization", "taxonomy_term", "location", "service"
	ID      string
	Outcome Outcome
	Err     error // when Failed
}

// Stopped reports whether r is a refusal of the caller itself, after which Import stops.
func Stopped(r Result) bool {
	if r.Outcome != Failed {
		return false
	}
	switch status.Code(r.Err) {
	case codes.Unauthenticated, codes.PermissionDenied:
		return true
	}
	return false
}

// termsByHSDSOnce returns a function that maps the HSDS id of every term of the directory to
// its internal id, reading the terms the first time it is called.
func termsByHSDSOnce() func(ctx context.Context, c directoryv1.DirectoryServiceClient) map[string]string {
	var m map[string]string
	return func(ctx context.Context, c directoryv1.DirectoryServiceClient) map[string]string {
		if m != nil {
			return m
		}
		m = map[string]string{}
		terms, err := (&handler{c: c}).allTerms(ctx, "")
		if err != nil {
			return m // the parent is left out, as for an unknown one
		}
		for _, t := range terms {
			m[strings.ToLower(ID(kindTerm, t.GetId()))] = t.GetId()
		}
		return m
	}
}

// Import writes b through the directory's API with the caller's credentials in ctx,
// idempotently by id: a record that does not exist is created, one that differs is
// replaced (with its current etag, so a concurrent edit makes it fail rather than be
// lost), one that is the same is left alone and writes nothing to the change log. A
// record the directory refuses is reported as Failed and the others go on — except when
// it refuses the caller (Unauthenticated, PermissionDenied): every other record would be
// refused the same way, so Import stops there (see Stopped); progress,
// if not nil, is called after each record. A term whose parent exists neither in b nor
// in the directory is imported without it.
func Import(ctx context.Context, c directoryv1.DirectoryServiceClient, b *Bundle, progress func(done, total int, r Result)) []Result {
	total := len(b.Organizations) + len(b.TaxonomyTerms) + len(b.Locations) + len(b.Services)
	var out []Result
	stop := false
	report := func(r Result) {
		out = append(out, r)
		if progress != nil {
			progress(len(out), total, r)
		}
		stop = stop || Stopped(r)
	}
	for _, o := range b.Organizations {
		if stop {
			return out
		}
		report(upsert(ctx, "organization", o,
			func() (*directoryv1.Organization, error) {
				return c.GetOrganization(ctx, &directoryv1.GetOrganizationRequest{Id: o.GetId()})
			},
			func() error {
				_, err := c.CreateOrganization(ctx, &directoryv1.CreateOrganizationRequest{Organization: o})
				return err
			},
			func(want *directoryv1.Organization, etag string) error {
				u := proto.Clone(want).(*directoryv1.Organization)
				u.Etag = etag
				_, err := c.UpdateOrganization(ctx, &directoryv1.UpdateOrganizationRequest{Id: o.GetId(), Organization: u})
				return err
			}))
	}
	termsByHSDS := termsByHSDSOnce()
	inBundle := map[string]bool{}
	for _, t := range b.TaxonomyTerms {
		inBundle[t.GetId()] = true
	}
	for _, t := range b.TaxonomyTerms {
		if stop {
			return out
		}
		if p := t.GetParentId(); p != "" && !inBundle[p] {
			if _, err := c.GetTaxonomyTerm(ctx, &directoryv1.GetTaxonomyTermRequest{Id: p}); status.Code(err) == codes.NotFound {
				t = proto.Clone(t).(*directoryv1.TaxonomyTerm)
				// The HSDS id of a term whose internal id is not a UUID (an export's).
				t.ParentId = termsByHSDS(ctx, c)[strings.ToLower(p)]
			}
		}
		report(upsert(ctx, "taxonomy_term", t,
			func() (*directoryv1.TaxonomyTerm, error) {
				return c.GetTaxonomyTerm(ctx, &directoryv1.GetTaxonomyTermRequest{Id: t.GetId()})
			},
			func() error {
				_, err := c.CreateTaxonomyTerm(ctx, &directoryv1.CreateTaxonomyTermRequest{TaxonomyTerm: t})
				return err
			},
			func(want *directoryv1.TaxonomyTerm, etag string) error {
				u := proto.Clone(want).(*directoryv1.TaxonomyTerm)
				u.Etag = etag
				_, err := c.UpdateTaxonomyTerm(ctx, &directoryv1.UpdateTaxonomyTermRequest{Id: t.GetId(), TaxonomyTerm: u})
				return err
			}))
	}
	for _, l := range b.Locations {
		if stop {
			return out
		}
		report(upsert(ctx, "location", l,
			func() (*directoryv1.Location, error) {
				return c.GetLocation(ctx, &directoryv1.GetLocationRequest{Id: l.GetId()})
			},
			func() error {
				_, err := c.CreateLocation(ctx, &directoryv1.CreateLocationRequest{Location: l})
				return err
			},
			func(want *directoryv1.Location, etag string) error {
				u := proto.Clone(want).(*directoryv1.Location)
				u.Etag = etag
				_, err := c.UpdateLocation(ctx, &directoryv1.UpdateLocationRequest{Id: l.GetId(), Location: u})
				return err
			}))
	}
	for _, s := range b.Services {
		if stop {
			return out
		}
		report(upsert(ctx, "service", s,
			func() (*directoryv1.Service, error) {
				return c.GetService(ctx, &directoryv1.GetServiceRequest{Id: s.GetId()})
			},
			func() error {
				_, err := c.CreateService(ctx, &directoryv1.CreateServiceRequest{Service: s})
				return err
			},
			func(want *directoryv1.Service, etag string) error {
				u := proto.Clone(want).(*directoryv1.Service)
				u.Etag = etag
				_, err := c.UpdateService(ctx, &directoryv1.UpdateServiceRequest{Id: s.GetId(), Service: u})
				return err
			}))
	}
	return out
}

// upsert creates, replaces or leaves one record.
func upsert[T resource](_ context.Context, kind string, want T, get func() (T, error), create func() error, update func(want T, etag string) error) Result {
	r := Result{Kind: kind, ID: want.GetId()}
	cur, err := get()
	switch {
	case status.Code(err) == codes.NotFound:
		if err := create(); err != nil {
			r.Outcome, r.Err = Failed, fmt.Errorf("create %s %s: %w", kind, r.ID, err)
			return r
		}
		r.Outcome = Created
		return r
	case err != nil:
		r.Outcome, r.Err = Failed, fmt.Errorf("read %s %s: %w", kind, r.ID, err)
		return r
	}
	want = proto.Clone(want).(T)
	keepTranslations(cur, want)
	if c, ok := any(cur).(*directoryv1.Service); ok {
		// A service without status is active, and HSDS says so: the same status.
		if w := any(want).(*directoryv1.Service); c.GetStatus() == "" && w.GetStatus() == "active" {
			w.Status = ""
		}
	}
	if sameContent(cur, want) {
		r.Outcome = Unchanged
		return r
	}
	if err := update(want, cur.GetEtag()); err != nil {
		r.Outcome, r.Err = Failed, fmt.Errorf("update %s %s: %w", kind, r.ID, err)
		return r
	}
	r.Outcome = Updated
	return r
}

// keepTranslations adds to want's top-level translatable texts the locales only cur
// has: an HSDS document speaks one language, and importing it must not drop the others.
func keepTranslations(cur, want proto.Message) {
	src, dst := cur.ProtoReflect(), want.ProtoReflect()
	fields := dst.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !fd.IsMap() || fd.MapKey().Kind() != protoreflect.StringKind || fd.MapValue().Kind() != protoreflect.StringKind || !src.Has(fd) {
			continue
		}
		to := dst.Mutable(fd).Map()
		src.Get(fd).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			if !to.Has(k) {
				to.Set(k, v)
			}
			return true
		})
	}
}

// resource is a directory record message.
type resource interface {
	proto.Message
	GetId() string
	GetEtag() string
}

// sameContent compares two records without their etags and times.
func sameContent(a, b proto.Message) bool {
	strip := func(m proto.Message) proto.Message {
		c := proto.Clone(m)
		fields := c.ProtoReflect().Descriptor().Fields()
		for _, name := range []string{"etag", "create_time", "update_time"} {
			if fd := fields.ByName(protoName(name)); fd != nil {
				c.ProtoReflect().Clear(fd)
			}
		}
		return c
	}
	return proto.Equal(strip(a), strip(b))
}

func protoName(s string) protoreflect.Name { return protoreflect.Name(s) }
