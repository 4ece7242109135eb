package problem

import (
	"fmt"
	"net/http"
)

// InvalidParameter is the 400 answered for a path or query parameter (in: "path" or
// "query") whose value the API cannot take. A path parameter is named by its proto field
// path, written as the API documents it ("page_size" → "pageSize"); a query parameter by
// the name the client sent, which must already be safe to echo (libs/textguard.Printable).
func InvalidParameter(in, name, reason string) Problem {
	if in == "path" {
		name = jsonPath(name)
	}
	name = clip(name, maxNameRunes)
	return Problem{
		Type:          typeBlank,
		Title:         statusTitle(http.StatusBadRequest),
		Status:        http.StatusBadRequest,
		Detail:        clip(fmt.Sprintf("The %s parameter %q %s.", in, name, reason), maxDetailRunes),
		Code:          codeName(codeForHTTP(http.StatusBadRequest)),
		InvalidParams: []InvalidParam{{Name: name, Reason: reason}},
	}
}
