package searchindex

import (
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// prefixMemo keeps, per query token, the union of the posting lists the token matches
// as a prefix (every token of a service and of its terms, or those of names only), from
// the search that first needed it until the index changes: the words people search for
// recur ("italiano", "corso", "casa"), and a common prefix unites hundreds of lists.
// Searches, which hold the index's read lock, share it; a change, under the write lock,
// clears it.
type prefixMemo struct {
	mu sync.Mutex
	m  map[memoKey]*roaring.Bitmap
}

// memoKey is a query token, and whether it was matched against names only.
type memoKey struct {
	names bool
	tok   string
}

// maxMemoized bounds the unions kept: at most this many tokens, the first asked for
// until the next change (a union of a broad word over 100,000 services is some kB).
const maxMemoized = 1024

// get returns the union memoized for k, else computes it (outside the memo's lock:
// two searches may both compute a new token, and one of theirs is kept). A nil union
// (no list) is memoized too. The union is read-only.
func (p *prefixMemo) get(k memoKey, compute func() *roaring.Bitmap) *roaring.Bitmap {
	p.mu.Lock()
	b, ok := p.m[k]
	p.mu.Unlock()
	if ok {
		return b
	}
	b = compute()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[memoKey]*roaring.Bitmap{}
	}
	if len(p.m) < maxMemoized {
		p.m[k] = b
	}
	return b
}

// clear forgets every union.
func (p *prefixMemo) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) > 0 {
		p.m = nil
	}
}
