package housing

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/libs/storage/storagetest"
	"github.com/ponte-network/ponte/services/housing/match"
	"github.com/ponte-network/ponte/services/housing/store"
	"github.com/ponte-network/ponte/services/housing/store/sqlcore"
)

// TestIndexFollowsTheStore writes homes and requests, signs some of them, all while
// other goroutines read the index; at the end the index holds exactly the available
// homes and open requests the store holds (run with -race).
func TestIndexFollowsTheStore(t *testing.T) {
	t.Parallel()
	storagetest.Both(t, sqlcore.Migrations(), func(t *testing.T, newConfig storagetest.NewConfig) {
		st, err := sqlcore.Open(t.Context(), newConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		ctx := t.Context()
		a := store.Actor{Subject: "t"}
		all := store.Scope{All: true}
		ix := newIndex(st, match.DefaultPlaces())
		o, err := st.CreateOwner(ctx, a, &housingv1.Owner{DisplayName: "o", Consent: true, ConsentTime: timestamppb.Now(), DistrictCode: "d"})
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.sync(ctx); err != nil { // loaded before the writes: it must follow them
			t.Fatal(err)
		}
		done := make(chan struct{})
		var readers sync.WaitGroup
		for range 4 {
			readers.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					if err := ix.sync(ctx); err != nil {
						t.Error(err)
						return
					}
					ix.withHomes(func(hs []match.Home, _ map[string]int) {
						match.Homes(match.Request{Members: 1, MaxCostCents: 1e6, ContractTypes: ^match.Set(0)}, hs, match.Options{})
					})
				}
			})
		}
		for i := range 30 {
			h, err := st.CreateHome(ctx, a, all, &housingv1.Home{OwnerId: o.Id, MunicipalityCode: "019035", Address: "x", Bedrooms: 1, FloorAreaM2: 40,
				RentCents: 40000, AvailableFrom: "2026-11-01", ContractTypes: []housingv1.ContractType{housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2}})
			if err != nil {
				t.Fatal(err)
			}
			r, err := st.CreateRequest(ctx, a, &housingv1.HousingRequest{CaseId: fmt.Sprint("case-", i), Household: &housingv1.Household{Adults: 1},
				MaxRentCents: 50000, MunicipalityCode: "019035", DistrictCode: "d", ContractTypes: []housingv1.ContractType{housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2}})
			if err != nil {
				t.Fatal(err)
			}
			if i%3 == 0 {
				p, err := st.CreateProposal(ctx, a, all, &housingv1.Proposal{HousingRequestId: r.Id, HomeId: h.Id})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.SignContract(ctx, a, all, p.Id, &housingv1.Contract{Type: housingv1.ContractType_CONTRACT_TYPE_AGREED_3_2,
					StartDate: "2026-12-01", RentCents: 40000}, nil, "2026-12-01"); err != nil {
					t.Fatal(err)
				}
			}
		}
		close(done)
		readers.Wait()
		if err := ix.sync(ctx); err != nil {
			t.Fatal(err)
		}
		m, err := st.Matchable(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wantHomes, gotHomes, wantReqs, gotReqs []string
		for _, h := range m.Homes {
			wantHomes = append(wantHomes, h.Id)
		}
		for _, r := range m.Requests {
			wantReqs = append(wantReqs, r.Id)
		}
		ix.withHomes(func(hs []match.Home, _ map[string]int) {
			for _, h := range hs {
				gotHomes = append(gotHomes, h.ID)
			}
		})
		ix.withRequests(func(rs []match.Request) {
			for _, r := range rs {
				gotReqs = append(gotReqs, r.ID)
			}
		})
		slices.Sort(gotHomes)
		slices.Sort(gotReqs)
		if !slices.Equal(gotHomes, wantHomes) || len(wantHomes) != 20 {
			t.Errorf("index homes = %v, store's available homes = %v (want 20)", gotHomes, wantHomes)
		}
		if !slices.Equal(gotReqs, wantReqs) || len(wantReqs) != 20 {
			t.Errorf("index requests = %v, store's open requests = %v (want 20)", gotReqs, wantReqs)
		}
	})
}
