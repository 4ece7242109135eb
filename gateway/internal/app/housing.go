package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	casesv1 "github.com/ponte-network/ponte/proto/ponte/cases/v1"
	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/libs/modules"
	"github.com/ponte-network/ponte/services/housing"
	"github.com/ponte-network/ponte/services/housing/demo"
)

// housingModule runs the housing service: owners, homes, housing requests, matching and
// the workflow up to the tenancy.
func (a *App) housingModule() modules.Module {
	return modules.Module{Name: "housing", Start: a.startHousing}
}

func (a *App) startHousing(ctx context.Context) error {
	conn, err := a.callerConn("housing", "cases")
	if err != nil {
		return err
	}
	st, err := housing.OpenStore(ctx, a.storeConfig("housing"))
	if err != nil {
		return err
	}
	a.onClose(st.Close)
	svc, err := housing.New(housing.Deps{Store: st, Catalog: a.catalog, Cases: casesv1.NewCaseServiceClient(conn)})
	if err != nil {
		return err
	}
	svc.Register(a.srv.Registrar())
	a.addPolicy(housing.Policy())
	a.addReady("housing", svc.Ready)
	for _, name := range housing.ServiceNames {
		a.srv.SetServing(name, true)
	}
	if a.cfg.Demo {
		a.afterServe(a.loadHousingDemo)
	}
	a.afterServe(svc.Warm) // after the demo data: the first match finds the index loaded
	return nil
}

// callerConn returns a connection to the service target on which calls carry no
// credentials of their own: the caller forwards the token of the user it serves, so the
// target answers what that user may see. The in-process connection when target runs
// here, else one to --<target>-endpoint.
func (a *App) callerConn(caller, target string) (*grpc.ClientConn, error) {
	selected, err := a.manager.Resolve(a.cfg.TargetList())
	if err != nil {
		return nil, err
	}
	endpoint := ""
	if e, ok := a.cfg.Endpoints[target]; ok && e != nil {
		endpoint = *e
	}
	var conn *grpc.ClientConn
	switch {
	case slices.Contains(selected, target):
		conn, err = a.srv.InProcessConn()
	case endpoint != "":
		conn, err = a.dialRemote(endpoint)
		if err == nil {
			a.addReady(target+" (remote, for "+caller+")", remoteReady(conn, target))
		}
	default:
		return nil, fmt.Errorf("%s needs the %s service: run it in this process (-target) or set --%s-endpoint", caller, target, target)
	}
	if err != nil {
		return nil, fmt.Errorf("%s → %s: %w", caller, target, err)
	}
	a.onClose(conn.Close)
	return conn, nil
}

// loadHousingDemo loads the fictional housing demo data (services/housing/demo) through
// the services' own APIs, in process, as the development admin: a case per household in
// the cases service, then owners, homes and housing requests. Records already there
// (same ids) are left as they are, so loading it at every start changes nothing.
func (a *App) loadHousingDemo(ctx context.Context) error {
	ctx, conn, err := a.demoLoader(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	cases, hs := casesv1.NewCaseServiceClient(conn), housingv1.NewHousingServiceClient(conn)
	d := demo.Generate(time.Now())
	created := 0
	keep := func(what string, err error) error {
		switch status.Code(err) {
		case codes.OK:
			created++
			return nil
		case codes.AlreadyExists:
			return nil
		}
		return fmt.Errorf("demo %s: %w", what, err)
	}
	if err := a.demoDistricts(ctx, directoryv1.NewTerritoryServiceClient(conn)); err != nil {
		return err
	}
	caseIDs, err := demoCases(ctx, cases, d)
	if err != nil {
		return err
	}
	for _, r := range d.Requests {
		r.CaseId = caseIDs[r.CaseId]
	}
	for _, o := range d.Owners {
		_, err := hs.CreateOwner(ctx, &housingv1.CreateOwnerRequest{Owner: o})
		if err := keep("owner "+o.Id, err); err != nil {
			return err
		}
	}
	for _, h := range d.Homes {
		_, err := hs.CreateHome(ctx, &housingv1.CreateHomeRequest{Home: h})
		if err := keep("home "+h.Id, err); err != nil {
			return err
		}
	}
	for _, r := range d.Requests {
		_, err := hs.CreateHousingRequest(ctx, &housingv1.CreateHousingRequestRequest{HousingRequest: r})
		if err := keep("housing request "+r.Id, err); err != nil {
			return err
		}
	}
	a.tel.Logger.Info("demo housing data loaded (fictional)", slog.Int("created", created),
		slog.Int("owners", len(d.Owners)), slog.Int("homes", len(d.Homes)), slog.Int("requests", len(d.Requests)))
	return nil
}

// demoDistricts creates the demo districts in the directory, where the cases service
// learns them from; districts already there are left as they are.
func (a *App) demoDistricts(ctx context.Context, territories directoryv1.TerritoryServiceClient) error {
	for _, dd := range demo.Districts {
		_, err := territories.CreateTerritory(ctx, &directoryv1.CreateTerritoryRequest{Territory: &directoryv1.Territory{
			Code: dd.Code, Name: dd.Code, Level: "district", MunicipalityCodes: dd.Municipalities}})
		switch status.Code(err) {
		case codes.OK, codes.AlreadyExists, codes.FailedPrecondition: // created, or there already
		default:
			return fmt.Errorf("demo district %s: %w", dd.Code, err)
		}
	}
	return nil
}

// demoCases opens the demo requests' cases, keyed by source "demo-housing" and the demo's
// case name, so that loading the demo again finds them; it returns their ids by name.
// The cases service learns the districts just created a moment later from the
// directory's feed: items it does not yet place are sent again, for up to a minute.
func demoCases(ctx context.Context, cases casesv1.CaseServiceClient, d demo.Data) (map[string]string, error) {
	var items []*casesv1.CaseUpsert
	for _, r := range d.Requests {
		items = append(items, &casesv1.CaseUpsert{Case: &casesv1.Case{Source: "demo-housing", ExternalId: r.CaseId,
			MunicipalityCode: d.CaseMunicipality[r.CaseId], DistrictCode: d.CaseDistrict[r.CaseId], Category: casesv1.Category_CATEGORY_HOUSING}})
	}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := cases.BatchUpsertCases(ctx, &casesv1.BatchUpsertCasesRequest{Items: items})
		if err != nil {
			return nil, fmt.Errorf("demo cases: %w", err)
		}
		ids := map[string]string{}
		var waiting error
		for i, r := range resp.GetResults() {
			switch r.GetOutcome() {
			case casesv1.UpsertOutcome_UPSERT_OUTCOME_CREATED, casesv1.UpsertOutcome_UPSERT_OUTCOME_UPDATED, casesv1.UpsertOutcome_UPSERT_OUTCOME_UNCHANGED:
				ids[items[i].GetCase().GetExternalId()] = r.GetId()
			case casesv1.UpsertOutcome_UPSERT_OUTCOME_INVALID:
				if r.GetField() != "case.district_code" {
					return nil, fmt.Errorf("demo case %s: %s: %s", items[i].GetCase().GetExternalId(), r.GetField(), r.GetReason())
				}
				waiting = fmt.Errorf("demo case %s: %s", items[i].GetCase().GetExternalId(), r.GetReason())
			default:
				return nil, fmt.Errorf("demo case %s: %s", items[i].GetCase().GetExternalId(), r.GetReason())
			}
		}
		if waiting == nil {
			return ids, nil
		}
		if time.Now().After(deadline) {
			return nil, waiting
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
