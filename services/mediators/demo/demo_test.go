package demo_test

import (
	"testing"
	"time"

	"buf.build/go/protovalidate"

	"github.com/ponte-network/ponte/services/mediators/demo"
)

func TestDemoRegister(t *testing.T) {
	t.Parallel()
	ms := demo.Mediators(40, 2026)
	langs, taxCodes := map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		if err := protovalidate.Validate(m); err != nil {
			t.Errorf("mediator %s is invalid: %v", m.GetId(), err)
		}
		if taxCodes[m.GetTaxCode()] {
			t.Errorf("tax code %s twice", m.GetTaxCode())
		}
		taxCodes[m.GetTaxCode()] = true
		for _, l := range m.GetLanguages() {
			if l.GetCode() != "it" {
				langs[l.GetCode()] = true
			}
		}
	}
	if len(langs) < 15 {
		t.Errorf("%d languages besides Italian, want at least 15", len(langs))
	}
	rome, _ := time.LoadLocation("Europe/Rome")
	bs := demo.Bookings(time.Date(2026, 12, 15, 12, 0, 0, 0, rome), rome, ms)
	arabicInCrema := false
	for _, b := range bs {
		if err := protovalidate.Validate(b.Booking); err != nil {
			t.Fatalf("booking %s is invalid: %v", b.RequestID, err)
		}
		if b.Booking.GetLanguage() == "ar" && b.Booking.GetMunicipalityCode() == "019035" {
			arabicInCrema = true
		}
	}
	if len(bs) < 60 || !arabicInCrema {
		t.Errorf("%d bookings, Arabic in Crema %v; want a month of them including one", len(bs), arabicInCrema)
	}
}
