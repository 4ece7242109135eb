package territory_test

import (
	"testing"

	"github.com/ponte-network/ponte/libs/territory"
)

func TestCatalogCounts(t *testing.T) {
	t.Parallel()
	c, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Regions()); got != 20 {
		t.Errorf("regions = %d, want 20", got)
	}
	if got := len(c.Provinces()); got != 107 {
		t.Errorf("provinces = %d, want 107", got)
	}
	if got := len(c.Municipalities()); got != 7904 {
		t.Errorf("municipalities = %d, want 7904", got)
	}
	sum := 0
	for _, r := range c.Regions() {
		sum += r.Municipalities
	}
	if sum != 7904 {
		t.Errorf("municipalities summed over regions = %d, want 7904", sum)
	}
}

func TestCatalogLookups(t *testing.T) {
	t.Parallel()
	c, err := territory.Load()
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := c.Region("03"); !ok || r.Name != "Lombardia" {
		t.Errorf("Region(03) = %+v, %v; want Lombardia", r, ok)
	}
	if p, ok := c.Province("019"); !ok || p.Name != "Cremona" || p.Abbreviation != "CR" || p.RegionCode != "03" {
		t.Errorf("Province(019) = %+v, %v; want Cremona, CR, region 03", p, ok)
	}
	if m, ok := c.Municipality("019035"); !ok || m.Name != "Crema" || m.ProvinceCode != "019" || m.CadastralCode != "D142" {
		t.Errorf("Municipality(019035) = %+v, %v; want Crema", m, ok)
	}
	tests := []struct {
		name, code, ancestor string
		want                 bool
	}{
		{"a municipality lies in its province", "019035", "019", true},
		{"a municipality lies in its region", "019035", "03", true},
		{"a province lies in its region", "019", "03", true},
		{"a territory lies in itself", "03", "03", true},
		{"Crema is not in Piedmont", "019035", "01", false},
		{"a region is not inside its province", "03", "019", false},
		{"an unknown code lies nowhere", "999999", "03", false},
		{"an unknown code is not inside itself", "99", "99", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := c.Within(tt.code, tt.ancestor); got != tt.want {
				t.Errorf("Within(%q, %q) = %v, want %v", tt.code, tt.ancestor, got, tt.want)
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := territory.Load(); err != nil {
			b.Fatal(err)
		}
	}
}
