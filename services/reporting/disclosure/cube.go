package disclosure

import (
	"errors"
	"fmt"
)

// Group says that the code Total of a dimension is the sum of the codes Parts (indexes
// into Dimension.Codes): a margin ("all sexes" = female + male + other), or a level of
// the territory tree (a province = its municipalities).
type Group struct {
	Total int
	Parts []int
}

// Dimension is one axis of a cube: its codes (values and totals) and how they add up.
// A code may be the total of several groups (a region is the sum of its provinces and
// also of its districts); the first group of a code is the one Aggregate sums. Codes
// that are nobody's total are the leaves.
type Dimension struct {
	Name   string
	Codes  []string
	Groups []Group
}

// Cube is a table over every combination of its dimensions' codes, with the relations
// of every group of every dimension at every combination of the other dimensions.
type Cube struct {
	Dims    []Dimension
	Table   Table
	strides []int
}

// MaxCubeCells bounds the cells of a cube, to refuse queries whose answer would be huge.
const MaxCubeCells = 1 << 20

// NewCube builds an empty cube (all cells zero) over dims.
func NewCube(dims []Dimension) (*Cube, error) {
	size := 1
	for _, d := range dims {
		if len(d.Codes) == 0 {
			return nil, fmt.Errorf("dimension %q has no codes", d.Name)
		}
		for _, g := range d.Groups {
			if g.Total < 0 || g.Total >= len(d.Codes) || len(g.Parts) == 0 {
				return nil, fmt.Errorf("dimension %q: malformed group", d.Name)
			}
			for _, p := range g.Parts {
				if p < 0 || p >= len(d.Codes) || p == g.Total {
					return nil, fmt.Errorf("dimension %q: malformed group of %q", d.Name, d.Codes[g.Total])
				}
			}
		}
		size *= len(d.Codes)
		if size > MaxCubeCells {
			return nil, errors.New("cube has too many cells")
		}
	}
	c := &Cube{Dims: dims, strides: make([]int, len(dims)), Table: Table{Cells: make([]Cell, size)}}
	stride := 1
	for d := len(dims) - 1; d >= 0; d-- {
		c.strides[d] = stride
		stride *= len(dims[d].Codes)
	}
	coords := make([]int, len(dims))
	for d, dim := range dims {
		for _, g := range dim.Groups {
			c.eachOther(d, coords, func() {
				coords[d] = g.Total
				rel := Relation{Total: c.Index(coords...), Parts: make([]int, len(g.Parts))}
				for k, p := range g.Parts {
					coords[d] = p
					rel.Parts[k] = c.Index(coords...)
				}
				c.Table.Relations = append(c.Table.Relations, rel)
			})
		}
	}
	return c, nil
}

// eachOther calls fn with coords set to every combination of the dimensions other
// than skip.
func (c *Cube) eachOther(skip int, coords []int, fn func()) {
	var rec func(d int)
	rec = func(d int) {
		if d == len(c.Dims) {
			fn()
			return
		}
		if d == skip {
			rec(d + 1)
			return
		}
		for i := range c.Dims[d].Codes {
			coords[d] = i
			rec(d + 1)
		}
	}
	rec(0)
}

// Index returns the cell index of the given code indexes, one per dimension.
func (c *Cube) Index(coords ...int) int {
	i := 0
	for d, x := range coords {
		i += x * c.strides[d]
	}
	return i
}

// Coords returns the code indexes of cell i.
func (c *Cube) Coords(i int) []int {
	out := make([]int, len(c.Dims))
	for d := range c.Dims {
		out[d] = i / c.strides[d]
		i %= c.strides[d]
	}
	return out
}

// Aggregate fills every cell that is not at leaves in all dimensions with the sum of
// the leaf cells below it (values, contributors and keys), using each code's first
// group. Callers of additive measures set the leaf cells and call it once.
func (c *Cube) Aggregate() {
	// above[d][code] lists the codes whose cells a leaf code's cells add into: itself and
	// every code that covers it through first groups, transitively; nil for non-leaves.
	above := make([][][]int, len(c.Dims))
	for d, dim := range c.Dims {
		first := make([]int, len(dim.Codes)) // index+1 of each code's first group
		for gi, g := range dim.Groups {
			if first[g.Total] == 0 {
				first[g.Total] = gi + 1
			}
		}
		cover := make([]map[int]bool, len(dim.Codes))
		var leavesOf func(code, depth int) map[int]bool
		leavesOf = func(code, depth int) map[int]bool {
			if cover[code] != nil || depth > len(dim.Codes) {
				return cover[code]
			}
			set := map[int]bool{}
			if first[code] == 0 {
				set[code] = true
			} else {
				for _, p := range dim.Groups[first[code]-1].Parts {
					for l := range leavesOf(p, depth+1) {
						set[l] = true
					}
				}
			}
			cover[code] = set
			return set
		}
		above[d] = make([][]int, len(dim.Codes))
		for code := range dim.Codes {
			for l := range leavesOf(code, 0) {
				above[d][l] = append(above[d][l], code)
			}
		}
		for code := range dim.Codes {
			if first[code] != 0 {
				above[d][code] = nil
			}
		}
	}
	isLeaf := func(coords []int) bool {
		for d, x := range coords {
			if above[d][x] == nil {
				return false
			}
		}
		return true
	}
	cells := c.Table.Cells
	leaf := make([]Cell, len(cells))
	copy(leaf, cells)
	for i := range cells {
		if !isLeaf(c.Coords(i)) {
			cells[i] = Cell{}
		}
	}
	target := make([]int, len(c.Dims))
	for i, src := range leaf {
		coords := c.Coords(i)
		if !isLeaf(coords) || (src.Value == 0 && src.Contributors == 0 && src.Key == 0) {
			continue
		}
		var rec func(d int)
		rec = func(d int) {
			if d == len(c.Dims) {
				j := c.Index(target...)
				if j == i {
					return
				}
				cells[j].Value += src.Value
				cells[j].Contributors += src.Contributors
				cells[j].Key += src.Key
				return
			}
			for _, x := range above[d][coords[d]] {
				target[d] = x
				rec(d + 1)
			}
		}
		rec(0)
	}
}
