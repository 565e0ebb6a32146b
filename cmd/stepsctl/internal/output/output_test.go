package output_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/model"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestAge(t *testing.T) {
	for _, tc := range []struct {
		ago  time.Duration
		want string
	}{
		{0, "just now"},
		{45 * time.Second, "45s ago"},
		{12*time.Minute + 59*time.Second, "12m ago"},
		{3 * time.Hour, "3h ago"},
		{5 * 24 * time.Hour, "5d ago"},
		{120 * 24 * time.Hour, "4mo ago"},
		{800 * 24 * time.Hour, "2y ago"},
		{-5 * time.Minute, "in 5m"},
	} {
		if got := output.Age(t0, t0.Add(-tc.ago)); got != tc.want {
			t.Errorf("Age(%v ago) = %q, want %q", tc.ago, got, tc.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range output.Formats {
		if f, err := output.ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := output.ParseFormat("yaml"); err == nil {
		t.Error("yaml accepted")
	}
}

func step(id int64, status string) model.Step {
	at := t0.Add(time.Duration(id) * time.Minute)
	return model.Step{ID: id, Component: "api", Version: "1.0", Owner: "ana", Status: status, Environment: "prod", Time: at, ReceivedAt: at}
}

func TestEmptyLists(t *testing.T) {
	for _, tc := range []struct {
		format   output.Format
		terminal bool
		want     string
	}{
		{output.JSON, false, "[]\n"},
		{output.NDJSON, false, ""},
		{output.CSV, false, "component,version,owner,status,ts,environment,id,received_at,revision,committed_at\n"},
		{output.Table, false, ""},
		{output.Table, true, ""},
	} {
		var buf bytes.Buffer
		w := output.NewStepWriter(&buf, output.Options{Format: tc.format, Terminal: tc.terminal, Now: t0})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("%s (terminal %v): %q, want %q", tc.format, tc.terminal, buf.String(), tc.want)
		}
	}
}

func TestJSONArrayStreams(t *testing.T) {
	var buf bytes.Buffer
	w := output.NewStepWriter(&buf, output.Options{Format: output.JSON})
	w.Write(step(1, "build"))
	if !strings.HasPrefix(buf.String(), "[\n{\"id\":1,") {
		t.Errorf("the first step was not written at once: %q", buf.String())
	}
	w.Write(step(2, "tests"))
	w.Close()
	want := "[\n" +
		`{"id":1,"component":"api","version":"1.0","owner":"ana","status":"build","environment":"prod","time":"2026-03-02T09:01:00Z","received_at":"2026-03-02T09:01:00Z"},` + "\n" +
		`{"id":2,"component":"api","version":"1.0","owner":"ana","status":"tests","environment":"prod","time":"2026-03-02T09:02:00Z","received_at":"2026-03-02T09:02:00Z"}` + "\n]\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestTerminalTimesAreLocalWithTheirZone(t *testing.T) {
	var buf bytes.Buffer
	tokyo := time.FixedZone("JST", 9*3600)
	if err := output.WriteStep(&buf, output.Options{Format: output.Table, Terminal: true, Now: t0.Add(time.Hour), Location: tokyo}, step(1, "build")); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"ID  TIME                        AGE      COMPONENT  VERSION  ENV   STATUS  OWNER\n" +
		"1   2026-03-02 18:01:00 +09:00  59m ago  api        1.0      prod  build   ana\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestAbortLeavesJSONUnfinished(t *testing.T) {
	var buf bytes.Buffer
	w := output.NewStepWriter(&buf, output.Options{Format: output.JSON})
	w.Write(step(1, "build"))
	w.Abort()
	if strings.HasSuffix(buf.String(), "]\n") {
		t.Errorf("aborted JSON was closed: %q", buf.String())
	}
}
