package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/pkg/model"
)

// TestOpenAPIMatchesRoutes fails when a route exists that the document
// lacks, or the document lists one that does not exist.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	var documented, served []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	s := New(Config{Store: nil})
	for _, rt := range s.apiRoutes() {
		served = append(served, rt.method+" "+rt.path)
	}
	sort.Strings(documented)
	sort.Strings(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in api/openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("api/openapi.yaml lists %s, which stepsd does not serve", d)
		}
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	srv := httptest.NewServer(New(Config{Store: nil}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(body) != string(api.OpenAPI) || res.Header.Get("Content-Type") != "application/yaml" {
		t.Errorf("GET /v1/openapi.yaml = %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

// TestOpenAPISchemasMatchTheFields fails when a field a step is sent or
// shown with is missing from the document, or the document lists one the
// server does not take or give.
func TestOpenAPISchemasMatchTheFields(t *testing.T) {
	type schema struct {
		Properties map[string]any `yaml:"properties"`
		Required   []string       `yaml:"required"`
	}
	type content struct {
		Schema struct {
			Description string `yaml:"description"`
		} `yaml:"schema"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `yaml:"name"`
			} `yaml:"parameters"`
			RequestBody struct {
				Content map[string]content `yaml:"content"`
			} `yaml:"requestBody"`
			Responses map[string]struct {
				Content map[string]content `yaml:"content"`
			} `yaml:"responses"`
		} `yaml:"paths"`
		Components struct {
			Schemas map[string]schema `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	keys := func(m map[string]any) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	jsonFields := func(v any) []string {
		var out []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				out = append(out, name)
			}
		}
		sort.Strings(out)
		return out
	}
	want := slices.Sorted(slices.Values(stepParams))
	if got := keys(doc.Components.Schemas["StepInput"].Properties); !slices.Equal(got, want) {
		t.Errorf("StepInput documents %v; POST /v1/steps takes %v", got, want)
	}
	var query []string
	for _, p := range doc.Paths["/v1/steps"]["post"].Parameters {
		if p.Name != "" {
			query = append(query, p.Name)
		}
	}
	if slices.Sort(query); !slices.Equal(query, want) {
		t.Errorf("POST /v1/steps documents the query parameters %v; it takes %v", query, want)
	}
	if got, want := keys(doc.Components.Schemas["Step"].Properties), jsonFields(model.Step{}); !slices.Equal(got, want) {
		t.Errorf("Step documents %v; a step has %v", got, want)
	}
	// Every field a deployment is shown with is documented (the ETA's
	// three included), and every one always written (no omitempty) is
	// required: a client generated from the document finds them all.
	if got, want := keys(doc.Components.Schemas["Deployment"].Properties), jsonFields(model.Deployment{}); !slices.Equal(got, want) {
		t.Errorf("Deployment documents %v; a deployment has %v", got, want)
	}
	if got, want := slices.Sorted(slices.Values(doc.Components.Schemas["Deployment"].Required)), alwaysWritten(model.Deployment{}); !slices.Equal(got, want) {
		t.Errorf("Deployment requires %v; a deployment always has %v", got, want)
	}
	if got := doc.Paths["/v1/steps"]["get"].Responses["200"].Content["text/csv"].Schema.Description; !strings.Contains(got, strings.Join(model.CSVHeader, ",")+",") {
		t.Errorf("GET /v1/steps CSV is documented as %q; its header is %v", got, model.CSVHeader)
	}
	if got := doc.Paths["/v1/deployments"]["get"].Responses["200"].Content["text/csv"].Schema.Description; got != strings.Join(model.DeploymentCSVHeader, ",") {
		t.Errorf("GET /v1/deployments CSV is documented as %q; its header is %v", got, model.DeploymentCSVHeader)
	}
	if got, want := keys(doc.Components.Schemas["Stats"].Properties), jsonFields(model.Stats{}); !slices.Equal(got, want) {
		t.Errorf("Stats documents %v; stats have %v", got, want)
	}
	if got, want := keys(doc.Components.Schemas["DORAFigures"].Properties), jsonFields(model.DORAFigures{}); !slices.Equal(got, want) {
		t.Errorf("DORAFigures documents %v; the four keys have %v", got, want)
	}
	if got, want := slices.Sorted(slices.Values(doc.Components.Schemas["DORAFigures"].Required)), alwaysWritten(model.DORAFigures{}); !slices.Equal(got, want) {
		t.Errorf("DORAFigures requires %v; the four keys always have %v", got, want)
	}
	if got := doc.Paths["/v1/dora"]["get"].Responses["200"].Content["text/csv"].Schema.Description; got != strings.Join(DORACSVHeader, ",") {
		t.Errorf("GET /v1/dora CSV is documented as %q; its header is %v", got, DORACSVHeader)
	}
	if got := doc.Paths["/v1/stats"]["get"].Responses["200"].Content["text/csv"].Schema.Description; got != strings.Join(StatsCSVHeader, ",") {
		t.Errorf("GET /v1/stats CSV is documented as %q; its header is %v", got, StatsCSVHeader)
	}
	if got := doc.Paths["/v1/changes"]["get"].Responses["200"].Content["text/csv"].Schema.Description; got != strings.Join(ChangesCSVHeader, ",") {
		t.Errorf("GET /v1/changes CSV is documented as %q; its header is %v", got, ChangesCSVHeader)
	}
	batchCSV := doc.Paths["/v1/steps/batch"]["post"].RequestBody.Content["text/csv"].Schema.Description
	for _, name := range model.CSVImportColumns {
		if !strings.Contains(batchCSV, name) {
			t.Errorf("POST /v1/steps/batch CSV is documented as %q, without the column %s", batchCSV, name)
		}
	}
}

// alwaysWritten is the JSON names of v's fields that are never left out
// (no omitempty), sorted.
func alwaysWritten(v any) []string {
	var out []string
	typ := reflect.TypeOf(v)
	for i := range typ.NumField() {
		name, opts, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" && !strings.Contains(opts, "omitempty") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
