package sqlcore

import (
	"testing"

	mediatorsv1 "github.com/ponte-network/ponte/proto/ponte/mediators/v1"
)

func TestDecodedMediatorsServeOnlyTheDocumentDecoded(t *testing.T) {
	t.Parallel()
	var d decodedMediators
	first := `{"id":"m1","displayName":"Amina"}`
	m, err := d.mediator("m1", first)
	if err != nil || m.GetDisplayName() != "Amina" {
		t.Fatalf("first decode = %v, %v", m, err)
	}
	m.DisplayName = "changed by a caller"
	again, err := d.mediator("m1", first)
	if err != nil || again.GetDisplayName() != "Amina" {
		t.Errorf("the same document again = %v, %v; want Amina (a caller's change must not leak)", again, err)
	}
	again.Languages = append(again.Languages, &mediatorsv1.Language{Code: "ar"})
	if third, _ := d.mediator("m1", first); len(third.GetLanguages()) != 0 {
		t.Errorf("a copy handed out shares its slices with the cache: %v", third)
	}
	updated, err := d.mediator("m1", `{"id":"m1","displayName":"Amina","email":"a@b.it"}`)
	if err != nil || updated.GetEmail() != "a@b.it" {
		t.Errorf("a rewritten document = %v, %v; want it decoded anew", updated, err)
	}
	if _, err := d.mediator("m2", `{"id":`); err == nil {
		t.Error("a broken document decoded")
	}
}
