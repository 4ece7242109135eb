package gateway

import (
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestStreamErrorKeepsTheDocumentedShape(t *testing.T) {
	t.Parallel()
	line := regexp.MustCompile(`^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$`)
	tests := []struct {
		name string
		msg  string
		want string
	}{
		{"a short message is kept", "watch: store closed", "watch: store closed"},
		{"lines and tabs are kept", "a\n\tb\r\n", "a\n\tb\r\n"},
		{"other control characters become spaces", "a\x00b\x1bc\x7f", "a b c "},
		{"a long message is cut at the bound", strings.Repeat("é", maxStreamErrorMessage), strings.Repeat("é", maxStreamErrorMessage/2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := streamError(t.Context(), status.Error(codes.Unavailable, tt.msg))
			if st.Code() != codes.Unavailable {
				t.Errorf("code = %v, want Unavailable", st.Code())
			}
			if got := st.Message(); got != tt.want || len(got) > maxStreamErrorMessage || !line.MatchString(got) {
				t.Errorf("message = %q (%d bytes), want %q", got, len(got), tt.want)
			}
		})
	}
}
