package gateway

import "testing"

func TestWhatSpansKeepOfPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, want string
	}{
		{"a collection is kept", "/v1/cases", "/v1/cases"},
		{"an id after a collection is dropped", "/v1/cases/RSSMRA80A41H501U/nothing", "/v1/cases/…"},
		{"a second segment with digits is dropped", "/v1/RSSMRA80A41H501U", "/v1/…"},
		{"a one-segment path is kept", "/openapi.json", "/openapi.json"},
		{"the root is kept", "/", "/"},
	}
	for _, tt := range tests {
		if got := coarsePath(tt.path); got != tt.want {
			t.Errorf("%s: coarsePath(%q) = %q, want %q", tt.name, tt.path, got, tt.want)
		}
	}
}

func TestServiceOfMethod(t *testing.T) {
	t.Parallel()
	tests := []struct{ method, want string }{
		{"/ponte.cases.v1.CaseService/GetCase", "cases"},
		{"/ponte.directory.v1.TerritoryService/GetTerritory", "directory"},
		{"/grpc.health.v1.Health/Check", ""},
	}
	for _, tt := range tests {
		if got := serviceOfMethod(tt.method); got != tt.want {
			t.Errorf("serviceOfMethod(%q) = %q, want %q", tt.method, got, tt.want)
		}
	}
}
