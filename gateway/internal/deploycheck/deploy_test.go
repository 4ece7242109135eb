package deploycheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

const deployDir = "../../../deploy"

func TestComposeFileIsValidAndStartsPonteOnPostgreSQL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(deployDir, "compose", "compose.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  abs,
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: raw}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("ponte", true) })
	if err != nil {
		t.Fatalf("compose file does not load: %v", err)
	}
	ponte, err := project.GetService("ponte")
	if err != nil {
		t.Fatal(err)
	}
	if ponte.Build == nil || ponte.Build.Dockerfile != "deploy/docker/Dockerfile" {
		t.Errorf("ponte is built from %+v, want deploy/docker/Dockerfile", ponte.Build)
	}
	if _, err := os.Stat(filepath.Join(ponte.Build.Context, ponte.Build.Dockerfile)); err != nil {
		t.Errorf("the build context does not hold the Dockerfile: %v", err)
	}
	mountsData := false
	for _, v := range ponte.Volumes {
		if v.Target == "/data" && v.Type == types.VolumeTypeVolume {
			mountsData = true
		}
	}
	if !mountsData {
		t.Errorf("ponte volumes = %+v, want a named volume on /data (the development key lives there)", ponte.Volumes)
	}
	if dep, ok := ponte.DependsOn["postgres"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("ponte depends on %+v, want postgres healthy first", ponte.DependsOn)
	}
	if url := ponte.Environment["PONTE_DATABASE_URL"]; url == nil || !strings.Contains(*url, "@postgres:5432/") {
		t.Errorf("PONTE_DATABASE_URL = %v, want the postgres service", url)
	}
	collector, err := project.GetService("otel-collector")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range collector.Volumes {
		if _, err := os.Stat(v.Source); v.Type == types.VolumeTypeBind && err != nil {
			t.Errorf("the collector mounts %s, which does not exist: %v", v.Source, err)
		}
	}
}

func TestImageGivesTheNonRootUserAWritableDataDirectory(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(deployDir, "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	for _, want := range []string{"USER nonroot", "COPY --from=build --chown=65532:65532 /out/data /data", "ENV PONTE_DATA_DIR=/data", "VOLUME /data"} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	// The directory must exist before VOLUME, or Docker creates it root-owned.
	if strings.Index(df, "--chown=65532:65532 /out/data /data") > strings.Index(df, "VOLUME /data") {
		t.Error("/data is declared a volume before the image creates it for nonroot")
	}
}
