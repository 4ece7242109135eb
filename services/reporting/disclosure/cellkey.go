package disclosure

import "encoding/binary"

// RecordKey is a record's key for the cell-key method: the first four bytes of a keyed
// digest of the record (an HMAC under the reporting secret), so that nobody without the
// secret can compute a cell's key. digest must be at least four bytes long.
func RecordKey(digest []byte) uint32 { return binary.BigEndian.Uint32(digest) }

// Perturb returns the value to publish for a count cell of the given true value and
// cell key: the value plus a deviation picked by the key from a fixed table, symmetric
// around zero and at most Deviation() away, narrower near the threshold so that the
// result never falls below it. Zero stays zero, and values below the threshold (which
// Protect suppresses) are returned unchanged.
func (c Config) Perturb(value int64, key uint32) int64 {
	m := min(c.Deviation(), value-c.Threshold)
	if value <= 0 || m <= 0 {
		return value
	}
	// Triangular weights m+1-|j| for j in [-m, m]; they sum to (m+1)^2.
	total := uint64((m + 1) * (m + 1))
	u := (uint64(key) * total) >> 32 // uniform in [0, total)
	var acc uint64
	for j := -m; j <= m; j++ {
		acc += uint64(m + 1 - abs(j))
		if u < acc {
			return value + j
		}
	}
	return value + m // unreachable: u < total
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
