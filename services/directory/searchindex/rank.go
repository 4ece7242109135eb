package searchindex

import (
	"slices"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
)

// noRank marks a service whose name changed since the ranks were computed.
const noRank = ^uint32(0)

// Ranks let ranking compare two services' names as two numbers. ranks[locale][ord] is
// the service's position in the order of name keys in that locale (the locale's name,
// else the fallback), then ids, among every service, computed at some point: so ranks are
// unique, and a rank comparison settles the name and the id tie-break at once.
// Services written since are in unranked and compare by their strings, so that mixed
// comparisons still agree with string order. fallbackRanks rank the fallback names, for
// a locale without ranks of its own.
//
// A search of a common word ranks thousands of names that share their first bytes
// ("corso di italiano l2 – ..."), where a string comparison reads dozens of bytes; rank
// comparisons make that part of the search several times cheaper.

// unrank marks a service's names as changed since the ranks.
func (x *Index) unrank(ord uint32) {
	x.unranked.Add(ord)
	for loc, r := range x.ranks {
		for uint32(len(r)) <= ord {
			r = append(r, noRank)
		}
		r[ord] = noRank
		x.ranks[loc] = r
	}
	for uint32(len(x.fallbackRanks)) <= ord {
		x.fallbackRanks = append(x.fallbackRanks, noRank)
	}
	x.fallbackRanks[ord] = noRank
}

// rerankAfter is how many services may change their names before finish ranks again:
// until then they compare by strings, after that a full ranking (a sort per locale) is
// cheaper than their comparisons.
func rerankAfter(services int) uint64 { return uint64(max(1000, services/50)) }

// rank recomputes every locale's ranks.
func (x *Index) rank() {
	ords := make([]uint32, 0, len(x.services))
	for ord, s := range x.services {
		if s != nil {
			ords = append(ords, uint32(ord))
		}
	}
	rankBy := func(key func(ord uint32) nameKey) []uint32 {
		sorted := slices.Clone(ords)
		slices.SortFunc(sorted, func(a, b uint32) int {
			if n := compareNames(key(a), key(b)); n != 0 {
				return n
			}
			return strings.Compare(x.services[a].id, x.services[b].id)
		})
		r := make([]uint32, len(x.services))
		for i := range r {
			r[i] = noRank
		}
		for i, ord := range sorted {
			r[ord] = uint32(i)
		}
		return r
	}
	x.ranks = map[string][]uint32{}
	for loc, keys := range x.keys {
		x.ranks[loc] = rankBy(func(ord uint32) nameKey {
			if keys[ord].name != "" {
				return keys[ord]
			}
			return x.fallback[ord]
		})
	}
	x.fallbackRanks = rankBy(func(ord uint32) nameKey { return x.fallback[ord] })
	x.unranked = roaring.New()
}
