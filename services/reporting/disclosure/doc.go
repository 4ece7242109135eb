// Package disclosure is reporting's statistical disclosure control: the step every
// answer passes before it is published. It knows nothing of indicators, stores or
// protos: it takes a table of cells and the linear relations between them (a total
// equals the sum of its parts) and decides which cells to suppress and what value to
// publish for the others. It is pure and deterministic: the same table always gets the
// same answer.
//
// # What it does
//
//  1. Primary suppression. A cell with 0 < contributors < threshold is suppressed
//     (StatusPrimary, ReasonBelowThreshold). The threshold is 5 by default, set per
//     deployment, and never below 3 (NewConfig refuses it). Zero cells are published:
//     an empty cell reveals nobody. A median (or any non-additive statistic) over fewer
//     persons than the threshold is suppressed by Config.MedianStatus.
//  2. Secondary suppression over the whole published table: its cells, its margins and
//     totals and, when the caller gives them, the levels of the territory tree (a
//     Cube's dimensions may carry several groupings, e.g. municipalities into districts
//     and into provinces). For every relation that holds a suppressed cell the table
//     keeps at least two suppressed cells, and when the relation's total is published
//     the suppressed parts together weigh at least the protection a suppressed cell
//     needs (threshold × value per contributor: the threshold itself for counts), so
//     that "total minus the published parts" never pins a small cell. Complements are
//     chosen cheapest first (the smallest non-zero part, then the total), in the
//     spirit of sdcTable's and τ-ARGUS's heuristics. Zero cells are never chosen as
//     complements: they add no uncertainty.
//  3. Audit and repair by linear programming. The heuristic works relation by
//     relation; an attacker combines them all. For every connected group of suppressed
//     cells up to Config.MaxLPCells cells, Protect solves, with gonum's simplex, the
//     minimum and maximum of each suppressed cell over all non-negative values
//     consistent with every published cell and relation (the attacker's interval), and
//     where an interval is narrower than the cell's protection it suppresses one more
//     cell next to it and starts again. Larger groups — real answers make one big group
//     of a few hundred cells, beyond what a dense simplex solves per query — are vouched
//     for by hypercube certificates when the table is a Cube (ProtectCube, which answers
//     use): every suppressed cell must be a corner of a hypercube of suppressed cells
//     whose alternating move keeps every relation and is at least the cell's protection
//     wide (hypercube.go; τ-ARGUS's hypercube method, GHMITER); a certificate is a lower
//     bound of the linear program's interval, so it is proof, and a cell without one gets
//     the cheapest hypercube that is wide enough suppressed. Certificates take one
//     partner code per dimension: in flat dimensions (answers' codes with their total)
//     every code has one; in a dimension with several levels or trees a code above the
//     leaves has none, and such a cell is protected by widening only. The disclosure
//     audit tests measure all of this by linear programming on tables where naive
//     methods leak.
//  4. Cell-key perturbation of every published non-zero count (Perturb). Each record
//     (fact) carries a pseudo-random 32-bit key derived from its keyed pseudonym; a
//     cell's key is the sum of its records' keys modulo 2^32, so rollups keep it
//     incrementally and federated nodes add theirs. The key picks a deviation from a
//     fixed, public, symmetric table bounded by D = ceil(threshold/2); counts near the
//     threshold get a narrower deviation so that no published value falls below it.
//     The same set of records always gets the same deviation, whatever query it
//     appears in, so repeating or re-slicing queries averages nothing out.
//
// # Why the cell-key method (differencing)
//
// Arbitrary group_by invites differencing: publish a province, then its districts,
// and "province minus the published districts" is the count of the suppressed ones.
// Suppression alone cannot stop it across tables without suppressing consistently over
// every table that could ever be asked. Perturbation stops it: every published
// non-zero value v stands for a true count anywhere in an interval at least D wide
// (the attacker knows the table but not the keys, which come from a secret), so a
// difference of two or more published values is uncertain by at least 2·D ≥ threshold;
// a derived count below the threshold is therefore either indistinguishable from zero
// or blurred over at least the threshold. Within one answer, suppression (with the LP
// audit) holds even against an attacker who somehow knew the published values exactly.
// What is given up: perturbed tables are not additive (a total is perturbed on its own
// and need not equal the sum of its published parts), and counts carry a deviation of
// at most D (±3 with threshold 5), zero on average.
//
// # What it does not do
//
// It does not treat distinct-person counts specially: their margins are at most, not
// exactly, the sum of their parts; the relations are then a conservative model of what
// an attacker knows. Sums (hours, euro) are protected by their contributors, and their
// values are published unperturbed.
package disclosure
