// Package recordsql holds the SQL both directory stores share for records: the tables
// are the same on PostgreSQL and SQLite, only placeholders differ, so that the two
// stores give the same answers by construction.
package recordsql

import (
	"fmt"
	"strings"

	"github.com/ponte-network/ponte/services/directory/store"
)

// Columns are the columns of records, in the order Scan reads them.
const Columns = `kind, id, organization_id, etag, create_time, update_time, doc, search_text, municipality, province, region, languages, target_groups, latitude, longitude, origin`

// Placeholder returns the placeholder of the n-th (1-based) argument.
type Placeholder func(n int) string

// Dollar is PostgreSQL's placeholder.
func Dollar(n int) string { return fmt.Sprintf("$%d", n) }

// Question is SQLite's placeholder.
func Question(int) string { return "?" }

// builder collects a WHERE clause and its arguments.
type builder struct {
	ph    Placeholder
	args  []any
	conds []string
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return b.ph(len(b.args))
}

func (b *builder) in(values []string) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = b.arg(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Search returns the query selecting the services that pass f, in id order.
func Search(f store.SearchFilter, ph Placeholder) (string, []any) {
	b := &builder{ph: ph}
	b.conds = append(b.conds, "s.kind = "+b.arg(string(store.KindService)))
	// Uncorrelated IN subqueries: the database evaluates each once (a hashed semi-join)
	// instead of once per service.
	for _, w := range f.Words {
		pat := "%" + store.LikeEscape(w) + "%"
		b.conds = append(b.conds, `(s.search_text LIKE `+b.arg(pat)+` ESCAPE '\'
			OR s.id IN (SELECT r.from_id FROM record_refs r WHERE r.from_kind = 'service' AND r.to_kind = 'taxonomy_term'
			            AND r.to_id IN (SELECT t.id FROM records t WHERE t.kind = 'taxonomy_term' AND t.search_text LIKE `+b.arg(pat)+` ESCAPE '\')))`)
	}
	if len(f.TaxonomyTermIDs) > 0 {
		b.conds = append(b.conds, `s.id IN (SELECT r.from_id FROM record_refs r WHERE r.from_kind = 'service'
			AND r.to_kind = 'taxonomy_term' AND r.to_id IN `+b.in(f.TaxonomyTermIDs)+`)`)
	}
	var where []string
	if len(f.Municipalities) > 0 {
		where = append(where, "l.municipality IN "+b.in(f.Municipalities))
	}
	if len(f.Provinces) > 0 {
		where = append(where, "l.province IN "+b.in(f.Provinces))
	}
	if len(f.Regions) > 0 {
		where = append(where, "l.region IN "+b.in(f.Regions))
	}
	if len(where) > 0 {
		b.conds = append(b.conds, `s.id IN (SELECT r.from_id FROM record_refs r WHERE r.from_kind = 'service' AND r.to_kind = 'location'
			AND r.to_id IN (SELECT l.id FROM records l WHERE l.kind = 'location' AND (`+strings.Join(where, " OR ")+`)))`)
	}
	if bx := f.Box; bx != nil {
		b.conds = append(b.conds, `s.id IN (SELECT r.from_id FROM record_refs r WHERE r.from_kind = 'service' AND r.to_kind = 'location'
			AND r.to_id IN (SELECT l.id FROM records l WHERE l.kind = 'location'
			  AND l.latitude BETWEEN `+b.arg(bx.MinLat)+` AND `+b.arg(bx.MaxLat)+`
			  AND l.longitude BETWEEN `+b.arg(bx.MinLon)+` AND `+b.arg(bx.MaxLon)+`))`)
	}
	if f.Language != "" {
		b.conds = append(b.conds, `s.languages LIKE `+b.arg("%|"+store.LikeEscape(f.Language)+"|%")+` ESCAPE '\'`)
	}
	if f.TargetGroup != "" {
		b.conds = append(b.conds, `s.target_groups LIKE `+b.arg("%|"+store.LikeEscape(f.TargetGroup)+"|%")+` ESCAPE '\'`)
	}
	cols := "s." + strings.ReplaceAll(Columns, ", ", ", s.")
	return "SELECT " + cols + " FROM records s WHERE " + strings.Join(b.conds, " AND ") + " ORDER BY s.id", b.args
}

// List returns the query listing records of kind by f, in id order.
func List(kind store.Kind, f store.ListFilter, ph Placeholder) (string, []any) {
	b := &builder{ph: ph}
	b.conds = append(b.conds, "kind = "+b.arg(string(kind)))
	if f.OrganizationID != "" {
		b.conds = append(b.conds, "organization_id = "+b.arg(f.OrganizationID))
	}
	if f.After != "" {
		b.conds = append(b.conds, "id > "+b.arg(f.After))
	}
	q := "SELECT " + Columns + " FROM records WHERE " + strings.Join(b.conds, " AND ") + " ORDER BY id"
	if f.Limit > 0 {
		q += " LIMIT " + b.arg(f.Limit)
	}
	return q, b.args
}

// ByIDs returns the query reading the records of kind with ids, in id order.
func ByIDs(kind store.Kind, ids []string, ph Placeholder) (string, []any) {
	b := &builder{ph: ph}
	q := "SELECT " + Columns + " FROM records WHERE kind = " + b.arg(string(kind))
	if len(ids) == 0 {
		return q + " AND false ORDER BY id", b.args
	}
	return q + " AND id IN " + b.in(ids) + " ORDER BY id", b.args
}
