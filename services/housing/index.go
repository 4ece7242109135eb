package housing

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	housingv1 "github.com/ponte-network/ponte/proto/ponte/housing/v1"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/services/housing/match"
	"github.com/ponte-network/ponte/services/housing/store"
)

// maxLag bounds how stale the index may be on what other processes wrote: a match reads
// the change log at least this often even without a signal.
const maxLag = time.Second

// index is the matching read model: the available homes and open requests as matching
// reads them, fed by the change log (whose payloads carry exactly these fields and no
// personal data). A match costs a scan of memory instead of reading 20,000 rows. It sees
// this process's own commits at once (the feed's Generation moves when they commit) and
// other processes' within maxLag.
type index struct {
	st     store.Store
	places *match.Places

	refresh sync.Mutex // one reader of the log at a time
	mu      sync.RWMutex
	loaded  bool
	cursor  int64
	gen     uint64
	readAt  time.Time
	seen    map[string]int32 // highest version applied, per topic/id
	homes   []match.Home
	homeAt  map[string]int
	reqs    []match.Request
	reqAt   map[string]int
}

func newIndex(st store.Store, places *match.Places) *index {
	return &index{st: st, places: places, seen: map[string]int32{}, homeAt: map[string]int{}, reqAt: map[string]int{}}
}

// sync brings the index up to the log's end when a commit may have happened since it
// last read it, or maxLag has passed.
func (ix *index) sync(ctx context.Context) error {
	feed := ix.st.Changes()
	ix.mu.RLock()
	fresh := ix.loaded && feed.Generation() == ix.gen && time.Since(ix.readAt) < maxLag
	ix.mu.RUnlock()
	if fresh {
		return nil
	}
	ix.refresh.Lock()
	defer ix.refresh.Unlock()
	ix.mu.RLock()
	fresh = ix.loaded && feed.Generation() == ix.gen && time.Since(ix.readAt) < maxLag
	ix.mu.RUnlock()
	if fresh {
		return nil // another caller refreshed it meanwhile
	}
	gen := feed.Generation() // before reading: a commit during the read moves it again
	if !ix.isLoaded() {
		if err := ix.load(ctx); err != nil {
			return err
		}
	}
	for {
		entries, err := feed.List(ctx, ix.cursor, 1000)
		if err != nil {
			return fmt.Errorf("read the housing change log: %w", err)
		}
		ix.mu.Lock()
		for _, e := range entries {
			ix.apply(e)
			ix.cursor = e.Position
		}
		if len(entries) < 1000 {
			ix.gen, ix.readAt = gen, time.Now()
		}
		ix.mu.Unlock()
		if len(entries) < 1000 {
			return nil
		}
	}
}

func (ix *index) isLoaded() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.loaded
}

// load reads the available homes and open requests, and the log position to follow from.
func (ix *index) load(ctx context.Context) error {
	m, err := ix.st.Matchable(ctx)
	if err != nil {
		return fmt.Errorf("load the matching index: %w", err)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, h := range m.Homes {
		ix.putHome(h)
	}
	for _, r := range m.Requests {
		ix.putRequest(r)
	}
	ix.cursor, ix.loaded = m.Head, true
	return nil
}

// apply applies one log entry (entries older than what the index holds are skipped).
func (ix *index) apply(e changelog.Entry) {
	switch e.Topic {
	case store.TopicHome:
		h := &housingv1.Home{}
		if protojson.Unmarshal(e.Payload, h) == nil {
			ix.putHome(h)
		}
	case store.TopicRequest:
		r := &housingv1.HousingRequest{}
		if protojson.Unmarshal(e.Payload, r) == nil {
			ix.putRequest(r)
		}
	}
}

func (ix *index) newer(key string, v int32) bool {
	if v <= ix.seen[key] {
		return false
	}
	ix.seen[key] = v
	return true
}

func (ix *index) putHome(h *housingv1.Home) {
	if !ix.newer("h/"+h.GetId(), h.GetVersion()) {
		return
	}
	if h.GetStatus() != housingv1.HomeStatus_HOME_STATUS_AVAILABLE {
		remove(&ix.homes, ix.homeAt, h.GetId(), func(m match.Home) string { return m.ID })
		return
	}
	m := matchHome(h)
	m.AvailableDay, m.Place = match.Day(m.AvailableFrom), ix.places.ID(m.Municipality)
	if i, ok := ix.homeAt[m.ID]; ok {
		ix.homes[i] = m
		return
	}
	ix.homeAt[m.ID] = len(ix.homes)
	ix.homes = append(ix.homes, m)
}

func (ix *index) putRequest(r *housingv1.HousingRequest) {
	if !ix.newer("r/"+r.GetId(), r.GetVersion()) {
		return
	}
	if r.GetStatus() != housingv1.RequestStatus_REQUEST_STATUS_OPEN {
		remove(&ix.reqs, ix.reqAt, r.GetId(), func(m match.Request) string { return m.ID })
		return
	}
	m := matchRequest(r)
	m.WantedByDay = match.Day(m.WantedBy)
	if i, ok := ix.reqAt[m.ID]; ok {
		ix.reqs[i] = m
		return
	}
	ix.reqAt[m.ID] = len(ix.reqs)
	ix.reqs = append(ix.reqs, m)
}

// remove deletes id from list by moving the last element into its place.
func remove[T any](list *[]T, at map[string]int, id string, idOf func(T) string) {
	i, ok := at[id]
	if !ok {
		return
	}
	last := len(*list) - 1
	if i != last {
		(*list)[i] = (*list)[last]
		at[idOf((*list)[i])] = i
	}
	*list = (*list)[:last]
	delete(at, id)
}

// withHomes calls fn with the available homes and their positions by id, read-locked:
// fn must not keep them.
func (ix *index) withHomes(fn func(homes []match.Home, at map[string]int)) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	fn(ix.homes, ix.homeAt)
}

// withRequests calls fn with the open requests, read-locked.
func (ix *index) withRequests(fn func([]match.Request)) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	fn(ix.reqs)
}

// request returns an open request by id.
func (ix *index) request(id string) (match.Request, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	i, ok := ix.reqAt[id]
	if !ok {
		return match.Request{}, false
	}
	return ix.reqs[i], true
}

// home returns an available home by id.
func (ix *index) home(id string) (match.Home, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	i, ok := ix.homeAt[id]
	if !ok {
		return match.Home{}, false
	}
	return ix.homes[i], true
}

// matchHome is what matching reads of a home.
func matchHome(h *housingv1.Home) match.Home {
	return match.Home{
		ID: h.GetId(), Municipality: h.GetMunicipalityCode(), District: h.GetDistrictCode(),
		Bedrooms: h.GetBedrooms(), FloorAreaM2: h.GetFloorAreaM2(),
		MonthlyCostCents: h.GetRentCents() + h.GetChargesCents(),
		Furnished:        h.GetFurnished(), StepFree: h.GetStepFree(), AvailableFrom: h.GetAvailableFrom(),
		ContractTypes: match.SetOf(h.GetContractTypes()...), GuaranteesAsked: match.SetOf(h.GetGuaranteesAsked()...),
	}
}

// matchRequest is what matching reads of a request.
func matchRequest(r *housingv1.HousingRequest) match.Request {
	m := match.Request{
		ID: r.GetId(), Members: r.GetHousehold().GetAdults() + r.GetHousehold().GetChildren(),
		MaxCostCents: r.GetMaxRentCents(), Preferred: r.GetPreferredMunicipalities(), MaxDistanceKm: r.GetMaxDistanceKm(),
		WantedBy: r.GetWantedBy(), ContractTypes: match.SetOf(r.GetContractTypes()...),
		GuaranteesOffered: match.SetOf(r.GetGuaranteesOffered()...), CreatedUs: r.GetCreateTime().AsTime().UnixMicro(),
		District: r.GetDistrictCode(), Municipality: r.GetMunicipalityCode(), Organization: r.GetOrganizationId(),
	}
	for _, n := range r.GetNeeds() {
		switch n {
		case housingv1.Need_NEED_STEP_FREE:
			m.NeedStepFree = true
		case housingv1.Need_NEED_FURNISHED:
			m.NeedFurnished = true
		}
	}
	return m
}
