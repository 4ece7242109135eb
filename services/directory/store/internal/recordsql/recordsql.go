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
const Columns = `kind, id, organization_id, etag, create_time, update_time, doc, municipality, province, region, origin`

// Values returns the VALUES list of an INSERT of Columns.
func Values(ph Placeholder) string {
	parts := make([]string, strings.Count(Columns, ",")+1)
	for i := range parts {
		parts[i] = ph(i + 1)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

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
