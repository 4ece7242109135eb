package searchindex

import (
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// noRank marks a service whose name changed since the ranks were computed.
const noRank = ^uint32(0)

// Ranks let ranking compare two names as two numbers. ranks[locale][ord] is the dense
// position of the service's name key in that locale (the locale's name, else the
// fallback) among every service's, computed at some point: equal names share a rank.
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
		slices.SortFunc(sorted, func(a, b uint32) int { return compareNames(key(a), key(b)) })
		r := make([]uint32, len(x.services))
		for i := range r {
			r[i] = noRank
		}
		var n uint32
		for i, ord := range sorted {
			if i > 0 && compareNames(key(sorted[i-1]), key(ord)) != 0 {
				n++
			}
			r[ord] = n
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
