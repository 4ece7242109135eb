package searchindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ponte-network/ponte/libs/changelog"
	"github.com/ponte-network/ponte/libs/storage"
	"github.com/ponte-network/ponte/services/directory/store"
)

// Catching up after an outage: the first retry after catchUpFirst, then doubling to
// catchUpMax; each attempt may take catchUpTimeout (a server that accepts connections
// and never answers must not hold the loop).
const (
	catchUpFirst   = 100 * time.Millisecond
	catchUpMax     = 2 * time.Second
	catchUpTimeout = 5 * time.Second
)

// Current is Sync for a reader that can do with the index as it stands: when the store
// cannot be reached (storage.ErrUnavailable) and the index was built, it returns how
// stale the index is — the time since its last complete read of the change log began —
// instead of the error, and catches up in the background once the store answers again.
// Until then reads make no database round trip at all (each would wait for a failing
// connection). stale is 0 when the index is current; the error is Sync's otherwise
// (an index that was never built has nothing to answer from).
func (x *Index) Current(ctx context.Context) (stale time.Duration, err error) {
	if x.outage.Load() {
		return x.staleness(), nil
	}
	err = x.Sync(ctx)
	if err == nil || !errors.Is(err, storage.ErrUnavailable) || x.synced.Load() == nil {
		return 0, err
	}
	x.outage.Store(true)
	if x.catchingUp.CompareAndSwap(false, true) {
		go x.catchUp()
	}
	return x.staleness(), nil
}

// Stale reports how stale reads through Current are: 0 while the store answers, else the
// time since the index last began a complete read of the change log.
func (x *Index) Stale() time.Duration {
	if !x.outage.Load() {
		return 0
	}
	return x.staleness()
}

// LastCatchUp is when the index last began a complete read of the change log (zero
// before the first).
func (x *Index) LastCatchUp() time.Time {
	if m := x.synced.Load(); m != nil {
		return m.at
	}
	return time.Time{}
}

// staleness is the time since the last complete read began, at least a nanosecond so
// that a stale answer is never taken for a current one.
func (x *Index) staleness() time.Duration {
	m := x.synced.Load()
	if m == nil {
		return time.Nanosecond
	}
	return max(time.Since(m.at), time.Nanosecond)
}

// catchUp reads the change log with backoff until the store answers, then lets Current
// read it again on the request path. A failure other than unavailability also ends the
// outage: Current then reports it as Sync does.
func (x *Index) catchUp() {
	defer x.catchingUp.Store(false)
	for delay := catchUpFirst; ; delay = min(2*delay, catchUpMax) {
		time.Sleep(delay)
		ctx, cancel := context.WithTimeout(context.Background(), catchUpTimeout)
		err := x.Sync(ctx)
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil || (!errors.Is(err, storage.ErrUnavailable) && !timedOut) {
			x.outage.Store(false)
			return
		}
	}
}

// District returns the district with that code, as of the index's last read of the log.
func (x *Index) District(code string) (store.District, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	d, ok := x.districts[code]
	return d, ok
}

// Districts returns every district ordered by code, as of the index's last read of the
// log; the slice is shared and must not be modified.
func (x *Index) Districts() []store.District {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.districtList
}

// applyDistrict keeps a district's creation or update (districts are not deleted).
func (x *Index) applyDistrict(e changelog.Entry) error {
	if e.Op == changelog.OpDelete {
		delete(x.districts, e.Key)
		x.listDistricts()
		return nil
	}
	var d store.District
	if err := json.Unmarshal(e.Payload, &d); err != nil {
		return fmt.Errorf("district %s: %w", e.Key, err)
	}
	x.districts[d.Code] = d
	x.listDistricts()
	return nil
}

// listDistricts replaces districtList after a change to districts.
func (x *Index) listDistricts() {
	list := make([]store.District, 0, len(x.districts))
	for _, d := range x.districts {
		list = append(list, d)
	}
	slices.SortFunc(list, func(a, b store.District) int { return strings.Compare(a.Code, b.Code) })
	x.districtList = list
}
