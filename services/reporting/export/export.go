// Package export writes a protected answer as a file: CSV for spreadsheets (one row per
// cell, the codes then value, status and reason) or SDMX-CSV 2.0 for statistical
// offices.
//
// SDMX-CSV: the first columns are STRUCTURE ("dataflow"), STRUCTURE_ID
// ("PONTE:DF_<INDICATOR>(1.0)") and ACTION ("I"); then the dimensions, with the
// cross-domain concept names where one exists — REF_AREA (the ISTAT code of the
// municipality, province or region; a district's own code), TIME_PERIOD (2026-01,
// 2026-Q1, 2026-W02, 2026-01-05, 2026), SEX (F, M, O; _T), AGE (the band; _T),
// CITIZEN (ISO 3166-1 alpha-2; _T) — and the others in upper case; every dimension of
// the data structure not grouped by is written as _T. Then OBS_VALUE (empty when
// suppressed), OBS_STATUS ("A" normal value, "C" confidential) and CONF_STATUS ("F"
// free, "C" confidential by primary suppression, "D" by secondary suppression —
// SDMX's CL_CONF_STATUS).
package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ponte-network/ponte/services/reporting/catalog"
	"github.com/ponte-network/ponte/services/reporting/disclosure"
	"github.com/ponte-network/ponte/services/reporting/query"
)

// CSV writes the answer with a header row.
func CSV(w io.Writer, ind catalog.Indicator, ans query.Answer) error {
	cw := csv.NewWriter(w)
	header := append(slices.Clone(ans.Columns), "value", "status", "reason")
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, c := range cells(ans) {
		rec := append(slices.Clone(c.Codes), value(c), c.Status.String(), string(c.Reason))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// sdmxName is the SDMX concept of a dimension.
func sdmxName(dim string) string {
	switch dim {
	case "period":
		return "TIME_PERIOD"
	case catalog.DimSex:
		return "SEX"
	case catalog.DimAgeBand:
		return "AGE"
	case catalog.DimCitizenship:
		return "CITIZEN"
	}
	if slices.Contains(catalog.TerritoryDims, dim) {
		return "REF_AREA"
	}
	return strings.ToUpper(dim)
}

// SDMX writes the answer as SDMX-CSV 2.0.
func SDMX(w io.Writer, ind catalog.Indicator, ans query.Answer) error {
	// The data structure: every dimension of the indicator, one territory concept.
	structure := []string{"TIME_PERIOD"}
	for _, d := range ind.Dimensions {
		if n := sdmxName(d); !slices.Contains(structure, n) {
			structure = append(structure, n)
		}
	}
	col := map[string]int{} // concept → column of the answer
	for i, c := range ans.Columns {
		col[sdmxName(c)] = i
	}
	cw := csv.NewWriter(w)
	header := append([]string{"STRUCTURE", "STRUCTURE_ID", "ACTION"}, structure...)
	header = append(header, "OBS_VALUE", "OBS_STATUS", "CONF_STATUS")
	if err := cw.Write(header); err != nil {
		return err
	}
	id := fmt.Sprintf("PONTE:DF_%s(1.0)", strings.ToUpper(ind.ID))
	for _, c := range cells(ans) {
		rec := []string{"dataflow", id, "I"}
		for _, concept := range structure {
			v := query.Total
			if i, ok := col[concept]; ok {
				v = c.Codes[i]
			}
			rec = append(rec, v)
		}
		obs, conf := "A", "F"
		switch c.Status {
		case disclosure.StatusPrimary:
			obs, conf = "C", "C"
		case disclosure.StatusSecondary:
			obs, conf = "C", "D"
		}
		rec = append(rec, value(c), obs, conf)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func cells(ans query.Answer) []query.Cell {
	return append(slices.Clone(ans.Rows), ans.Totals...)
}

func value(c query.Cell) string {
	if c.Status.Suppressed() {
		return ""
	}
	return strconv.FormatFloat(c.Value, 'f', -1, 64)
}
