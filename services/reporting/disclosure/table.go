package disclosure

import (
	"errors"
	"fmt"
	"math"
)

// Status says whether a cell is published.
type Status int

// The statuses of a cell.
const (
	// StatusPublished cells are shown (perturbed, for counts).
	StatusPublished Status = iota
	// StatusPrimary cells are suppressed because they are too small themselves.
	StatusPrimary
	// StatusSecondary cells are suppressed to protect primary ones.
	StatusSecondary
)

// String returns the status as answers spell it.
func (s Status) String() string {
	switch s {
	case StatusPublished:
		return "published"
	case StatusPrimary:
		return "primary"
	case StatusSecondary:
		return "secondary"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Suppressed reports whether the cell is withheld.
func (s Status) Suppressed() bool { return s != StatusPublished }

// Reason says why a cell is suppressed.
type Reason string

// The reasons of suppression.
const (
	// ReasonNone: the cell is published.
	ReasonNone Reason = ""
	// ReasonBelowThreshold: fewer contributors than the threshold.
	ReasonBelowThreshold Reason = "below_threshold"
	// ReasonMedianFewPersons: a median over fewer persons than the threshold.
	ReasonMedianFewPersons Reason = "median_few_persons"
	// ReasonComplement: suppressed so that a suppressed cell cannot be recovered from
	// the published ones.
	ReasonComplement Reason = "complement"
)

// Cell is one figure of a table.
type Cell struct {
	// Value is the true, additive figure (a count, minutes, cents); never negative.
	Value int64
	// Contributors is how many units (persons, records) the value is made of: equal to
	// Value for counts. Primary suppression and protection are decided on it.
	Contributors int64
	// Key is the cell key: the sum modulo 2^32 of its records' keys (RecordKey).
	Key uint32
	// Status is set by Protect.
	Status Status
	// Reason is set by Protect.
	Reason Reason
}

// Relation says that the cell Total equals the sum of the cells Parts (indexes into
// Table.Cells).
type Relation struct {
	Total int
	Parts []int
}

// Table is the cells of an answer and the linear relations between them.
type Table struct {
	Cells     []Cell
	Relations []Relation
	// Inexact marks tables whose totals are at most, not exactly, the sum of their
	// parts (distinct persons: one person may count in several parts). Their relations
	// still drive secondary suppression, as if exact (an attacker who assumed them exact
	// would err on the safe side for the published cells); the linear programming audit,
	// which needs exact relations, is skipped.
	Inexact bool
}

// Validate reports whether every relation names existing, distinct cells, no value is
// negative and, unless the table is Inexact, every relation holds on the true values.
func (t *Table) Validate() error {
	for i, c := range t.Cells {
		if c.Value < 0 || c.Contributors < 0 {
			return fmt.Errorf("cell %d: negative value or contributors", i)
		}
	}
	for r, rel := range t.Relations {
		if len(rel.Parts) == 0 {
			return fmt.Errorf("relation %d: no parts", r)
		}
		seen := map[int]bool{rel.Total: true}
		if rel.Total < 0 || rel.Total >= len(t.Cells) {
			return fmt.Errorf("relation %d: total %d out of range", r, rel.Total)
		}
		var sum int64
		for _, p := range rel.Parts {
			if p < 0 || p >= len(t.Cells) {
				return fmt.Errorf("relation %d: part %d out of range", r, p)
			}
			if seen[p] {
				return fmt.Errorf("relation %d: cell %d twice", r, p)
			}
			seen[p] = true
			sum += t.Cells[p].Value
		}
		if t.Inexact {
			continue // distinct counts, perhaps estimated: no exact sum to check
		}
		if sum != t.Cells[rel.Total].Value {
			return fmt.Errorf("relation %d: parts sum to %d, total is %d", r, sum, t.Cells[rel.Total].Value)
		}
	}
	return nil
}

// Config is a deployment's disclosure rules.
type Config struct {
	// Threshold is the smallest number of contributors a published cell may have.
	Threshold int64
	// MaxLPCells bounds the connected groups of suppressed cells that Protect audits and
	// repairs by linear programming; 0 means DefaultMaxLPCells, negative turns it off.
	MaxLPCells int
}

// DefaultThreshold is the threshold when a deployment sets none.
const DefaultThreshold = 5

// MinThreshold is the smallest threshold a deployment may set.
const MinThreshold = 3

// DefaultMaxLPCells is the default bound of Config.MaxLPCells.
const DefaultMaxLPCells = 40

// ErrThreshold is returned for a threshold below MinThreshold.
var ErrThreshold = errors.New("disclosure threshold must be at least 3")

// NewConfig returns the rules with the given threshold (0: DefaultThreshold).
func NewConfig(threshold int64) (Config, error) {
	if threshold == 0 {
		threshold = DefaultThreshold
	}
	if threshold < MinThreshold {
		return Config{}, fmt.Errorf("%w, got %d", ErrThreshold, threshold)
	}
	return Config{Threshold: threshold}, nil
}

// protection is the width the attacker's interval of a suppressed cell must have: the
// value of threshold contributors.
func (c Config) protection(cell Cell) float64 {
	if cell.Contributors <= 0 || cell.Value == 0 {
		return float64(c.Threshold)
	}
	return float64(c.Threshold) * float64(cell.Value) / float64(cell.Contributors)
}

// MedianStatus decides a median (or any non-additive statistic) over persons.
func (c Config) MedianStatus(persons int64) (Status, Reason) {
	if persons < c.Threshold {
		return StatusPrimary, ReasonMedianFewPersons
	}
	return StatusPublished, ReasonNone
}

// Deviation is the largest deviation Perturb adds: ceil(threshold/2).
func (c Config) Deviation() int64 { return (c.Threshold + 1) / 2 }

// inf is the width of an unbounded interval.
var inf = math.Inf(1)
