package cases

import (
	"testing"

	"google.golang.org/grpc/codes"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"

	"github.com/ponte-network/ponte/libs/auth"
)

func TestReportingProjectionCarriesSexAndCitizenshipToReportingOnly(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s *server) {
		p, err := s.CreatePerson(as(orgAOp, "CreatePerson"), &casesv1.CreatePersonRequest{Person: &casesv1.Person{
			GivenName: "Amina", Sex: casesv1.Sex_SEX_FEMALE, Nationality: "MA", LegalBasis: casesv1.LegalBasis_LEGAL_BASIS_PUBLIC_TASK}})
		if err != nil {
			t.Fatal(err)
		}
		k := mustCreateCase(t, s, orgAOp, &casesv1.Case{PersonId: p.Id, MunicipalityCode: "019035", Category: casesv1.Category_CATEGORY_RENEWAL})
		mustCreateCase(t, s, orgAOp, &casesv1.Case{MunicipalityCode: "019036", Category: casesv1.Category_CATEGORY_HOUSING})

		tests := []struct {
			name string
			p    auth.Principal
			want codes.Code
		}{
			{"the reporting service reads the projection", auth.ServicePrincipal("reporting"), codes.OK},
			{"another service may not", auth.ServicePrincipal("housing"), codes.PermissionDenied},
			{"an admin may not: it is no one's personal view", adminP, codes.PermissionDenied},
			{"a partner operator may not", orgAOp, codes.PermissionDenied},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, err := s.ListReportingCases(as(tt.p, "ListReportingCases"), &casesv1.ListReportingCasesRequest{})
				if code(err) != tt.want {
					t.Fatalf("code = %v, want %v", code(err), tt.want)
				}
				if tt.want != codes.OK {
					return
				}
				if len(out.Cases) != 2 || out.Head != out.NextAfter {
					t.Fatalf("cases = %d, head %d, next %d; want both cases and the head reached", len(out.Cases), out.Head, out.NextAfter)
				}
				first := out.Cases[0]
				if first.Case.GetId() != k.Id || first.Sex != casesv1.Sex_SEX_FEMALE || first.Citizenship != "MA" {
					t.Fatalf("first = %v, want the person's sex and citizenship", first)
				}
				if first.Case.GetPersonId() != p.Id || out.Cases[1].Sex != casesv1.Sex_SEX_UNSPECIFIED {
					t.Fatalf("second = %v, want no sex without a person", out.Cases[1])
				}
			})
		}
		// Erasing the person erases what reporting can read of them.
		if _, err := s.DeletePerson(as(orgAOp, "DeletePerson"), &casesv1.DeletePersonRequest{Id: p.Id}); err != nil {
			t.Fatal(err)
		}
		out, err := s.ListReportingCases(as(auth.ServicePrincipal("reporting"), "ListReportingCases"), &casesv1.ListReportingCasesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if c := out.Cases[0]; c.Sex != casesv1.Sex_SEX_UNSPECIFIED || c.Citizenship != "" {
			t.Fatalf("after erasure = %v, want neither sex nor citizenship", c)
		}
	})
}
