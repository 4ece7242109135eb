package app_test

import (
	"strconv"

	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"

	"github.com/ponte-network/ponte/libs/auth"
	"github.com/ponte-network/ponte/services/directory/seed"
)

func TestDirectoryWatchChangesOverGRPC(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, n *node) {
		admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
		conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := directoryv1.NewDirectoryServiceClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin)

		create := func(id string) {
			t.Helper()
			_, err := client.CreateTaxonomyTerm(authed, &directoryv1.CreateTaxonomyTermRequest{TaxonomyTerm: &directoryv1.TaxonomyTerm{
				Id: id, Name: map[string]string{"it": id},
			}})
			if err != nil {
				t.Fatalf("create term %s: %v", id, err)
			}
		}
		// The feed starts with the built-in taxonomy stored at start: skip past it.
		builtin, err := client.ListChanges(ctx, &directoryv1.ListChangesRequest{PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		create("t1")
		first, err := client.ListChanges(ctx, &directoryv1.ListChangesRequest{After: builtin.GetNextAfter()})
		if err != nil || len(first.GetChanges()) != 1 {
			t.Fatalf("ListChanges = %v, %v; want one change", first, err)
		}

		// Watching from the first change's cursor (without a token: the feed is public)
		// sees only what comes after it: the backlog, then live writes.
		stream, err := client.WatchChanges(ctx, &directoryv1.WatchChangesRequest{After: first.GetNextAfter()})
		if err != nil {
			t.Fatal(err)
		}
		create("t2")
		if _, err := client.DeleteTaxonomyTerm(authed, &directoryv1.DeleteTaxonomyTermRequest{Id: "t1"}); err != nil {
			t.Fatal(err)
		}
		want := []struct{ key, op string }{{"t2", "upsert"}, {"t1", "delete"}}
		last := first.GetNextAfter()
		for _, w := range want {
			c, err := stream.Recv()
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			if c.GetTopic() != "taxonomy_term" || c.GetKey() != w.key || c.GetOp() != w.op || c.GetPosition() <= last {
				t.Errorf("change = %v, want %s of %s after position %d", c, w.op, w.key, last)
			}
			if w.op == "upsert" && c.GetPayload().GetFields()["etag"].GetStringValue() == "" {
				t.Errorf("upsert payload lacks the etag: %v", c.GetPayload())
			}
			last = c.GetPosition()
		}
	})
}

func TestDirectoryWatchChangesOverREST(t *testing.T) {
	t.Parallel()
	n := startNode(t, "")
	admin := n.token(t, auth.Principal{Subject: "root", Roles: []string{auth.RoleAdmin}})
	if r := n.do(t, "POST", "/v1/taxonomyTerms", admin, map[string]any{"id": "t1", "name": map[string]string{"it": "Uno"}}); r.status != http.StatusCreated {
		t.Fatalf("create term = %d %s", r.status, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The feed starts with the built-in taxonomy stored at start (positions 1..n on a
	// fresh node): watch from after it.
	builtinTerms, err := seed.Taxonomy()
	if err != nil {
		t.Fatal(err)
	}
	// After the built-in terms and before t1 (created above).
	req, err := http.NewRequestWithContext(ctx, "GET", n.base+"/v1/directory/changes:watch?after="+strconv.Itoa(len(builtinTerms)), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
	if err != nil {
		t.Fatalf("read the first streamed change: %v", err)
	}
	var msg struct {
		Result struct {
			Topic, Key, Op string
		} `json:"result"`
	}
	if err := json.Unmarshal(line, &msg); err != nil || msg.Result.Topic != "taxonomy_term" || msg.Result.Key != "t1" || msg.Result.Op != "upsert" {
		t.Errorf("first streamed line = %s (%v), want the upsert of t1", line, err)
	}
}
