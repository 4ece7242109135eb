package reporting

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"
	"google.golang.org/protobuf/proto"

	"github.com/ponte-network/ponte/libs/edgejson"

	"github.com/ponte-network/ponte/services/reporting/query"
	"github.com/ponte-network/ponte/services/reporting/store"
)

// answerCache keeps protected answers until the facts change: an answer is a function
// of the request, the caller's territory and the facts, and the facts change only when
// a source cursor moves. Each lookup reads the cursors (one small query) and serves the
// kept answer if they have not moved; concurrent requests for the same missing answer
// compute it once. It holds at most maxAnswers answers.
type answerCache struct {
	group   singleflight.Group
	mu      sync.Mutex
	answers map[string]cachedAnswer
}

type cachedAnswer struct {
	generation string
	answer     query.Answer
	rendered   *rendered
}

// rendered is a kept answer's reply as the REST edge writes it (package edgejson),
// rendered once, on the first request from the edge: a kept answer is then sent as the
// bytes it was, with no message built, encoded and re-encoded per request.
type rendered struct {
	once sync.Once
	att  edgejson.Attachment
	err  error
}

// attachment returns the JSON of the reply build makes, rendered on the first call.
func (r *rendered) attachment(build func() proto.Message) (edgejson.Attachment, error) {
	r.once.Do(func() {
		j, err := edgejson.Render(build())
		r.att, r.err = edgejson.NewAttachment(j), err
	})
	return r.att, r.err
}

const maxAnswers = 512

// generation names the state of the facts: every source's cursor.
func generation(ctx context.Context, st store.Store) (string, error) {
	cursors, err := st.Cursors(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, c := range cursors {
		fmt.Fprintf(&b, "%s=%d;", c.Source, c.Position)
	}
	return b.String(), nil
}

// get returns the answer for key, computing it with compute when the facts moved, and
// the holder of its rendering.
func (c *answerCache) get(ctx context.Context, st store.Store, key string, compute func() (query.Answer, error)) (query.Answer, *rendered, error) {
	gen, err := generation(ctx, st)
	if err != nil {
		return query.Answer{}, nil, err
	}
	c.mu.Lock()
	hit, ok := c.answers[key]
	c.mu.Unlock()
	if ok && hit.generation == gen {
		return hit.answer, hit.rendered, nil
	}
	v, err, _ := c.group.Do(gen+"\x00"+key, func() (any, error) {
		ans, err := compute()
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.answers == nil {
			c.answers = map[string]cachedAnswer{}
		}
		if len(c.answers) >= maxAnswers {
			for k := range c.answers { // drop one, any
				delete(c.answers, k)
				break
			}
		}
		hit := cachedAnswer{generation: gen, answer: ans, rendered: &rendered{}}
		c.answers[key] = hit
		return hit, nil
	})
	if err != nil {
		return query.Answer{}, nil, err
	}
	hit = v.(cachedAnswer)
	return hit.answer, hit.rendered, nil
}
