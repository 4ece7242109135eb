package directory

import (
	"testing"

	"google.golang.org/grpc"

	directoryv1 "github.com/ponte-network/ponte/proto/ponte/directory/v1"
)

func methodNames(ms []grpc.MethodDesc, ss []grpc.StreamDesc) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.MethodName)
	}
	for _, s := range ss {
		out = append(out, s.StreamName)
	}
	return out
}

func TestPolicyCoversEveryMethod(t *testing.T) {
	t.Parallel()
	p := Policy()
	for _, sd := range []struct {
		name    string
		methods []string
	}{
		{directoryv1.DirectoryService_ServiceDesc.ServiceName, methodNames(directoryv1.DirectoryService_ServiceDesc.Methods, directoryv1.DirectoryService_ServiceDesc.Streams)},
		{directoryv1.TerritoryService_ServiceDesc.ServiceName, methodNames(directoryv1.TerritoryService_ServiceDesc.Methods, directoryv1.TerritoryService_ServiceDesc.Streams)},
	} {
		for _, m := range sd.methods {
			if _, ok := p["/"+sd.name+"/"+m]; !ok {
				t.Errorf("no policy entry for %s/%s", sd.name, m)
			}
		}
	}
}
