package textfold_test

import (
	"testing"

	"github.com/ponte-network/ponte/libs/textfold"
)

func TestFold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"accents are removed and case is lowered", "Forlì-Cesena", "forli-cesena"},
		{"typographic apostrophes become plain", "Cours d’Italien", "cours d'italien"},
		{"white space runs collapse and trim", "  San \t Donà\n di  Piave ", "san dona di piave"},
		{"Arabic hamza folds like an accent, as Arabic search expects", "دورة اللغة الإيطالية", "دورة اللغة الايطالية"},
		{"German sharp s and umlauts", "Mühlbach", "muhlbach"},
		{"empty stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := textfold.Fold(tt.in); got != tt.want {
				t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestContains(t *testing.T) {
	t.Parallel()
	if !textfold.Contains("Forlì", "FORLI") {
		t.Error("Contains should ignore case and accents")
	}
	if textfold.Contains("Crema", "Cremona") {
		t.Error("Contains matched a longer needle")
	}
}
