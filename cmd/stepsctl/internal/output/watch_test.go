package output_test

import (
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/model"
)

func running(component string, seconds float64) output.WatchRow {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	return output.WatchRow{Deployment: model.Deployment{Component: component, Version: "1", Environment: "prod", Owner: "ana",
		StartedAt: t0, DurationSeconds: seconds, Outcome: model.OutcomeInProgress, Steps: []model.Phase{{Status: "build", Time: t0}}}}
}

// A frame never outgrows the terminal: lines cut to its width, rows past
// its height counted on a last line.
func TestWatchFrameFitsTheTerminal(t *testing.T) {
	var rows []output.WatchRow
	for range 10 {
		rows = append(rows, running("api", 30))
	}
	lines := output.WatchFrame("title", rows, 40, 6, false)
	if len(lines) != 6 || lines[5] != "… 7 more" {
		t.Fatalf("frame of height 6:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 40 {
			t.Errorf("line of %d cells: %q", n, l)
		}
	}
}

// A terminal a little too narrow for the table gets a shorter bar, every
// column kept; the ETA ends each line rather than being cut off.
func TestWatchFrameShortensTheBarFirst(t *testing.T) {
	r := running("api", 30)
	expected, eta := 130.0, 100.0
	r.Deployment.ExpectedDurationSeconds, r.Deployment.ETASeconds = &expected, &eta
	full := output.WatchFrame("title", []output.WatchRow{r}, 0, 0, false)
	lines := output.WatchFrame("title", []output.WatchRow{r}, len([]rune(full[2]))-8, 0, false)
	if got, want := strings.Join(strings.Fields(lines[2]), " "), "api 1 prod ana build 30s 30s ███░░░░░░░░░ 23% 1m40s"; got != want {
		t.Errorf("row = %q, want %q", got, want)
	}
}

// No recorded value can send the terminal a control sequence.
func TestWatchFrameNeutralisesControlCharacters(t *testing.T) {
	lines := output.WatchFrame("title", []output.WatchRow{running("evil\x1b[2Jname\r", 5)}, 0, 0, false)
	frame := strings.Join(lines, "\n")
	if strings.ContainsAny(frame, "\x1b\r") || !strings.Contains(frame, "evil?[2Jname?") {
		t.Errorf("frame: %q", frame)
	}
}

func TestProgressBar(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0, "░░░░░░░░░░   0%"},
		{0.55, "██████░░░░  55%"},
		{1.7, "██████████ 100%"},
		{-1, "░░░░░░░░░░   0%"},
	} {
		if got := output.ProgressBar(c.f, 10); got != c.want {
			t.Errorf("ProgressBar(%v) = %q, want %q", c.f, got, c.want)
		}
	}
}

// A stuck deployment (silent past the server's threshold) gets no bar and
// no ETA, in watch and in the deployments' outcome, though the server
// gives one: 21 days into tests it is not 99 % done with 2m28s left.
func TestStuckDeploymentShowsNoETA(t *testing.T) {
	r := running("api", 21*24*3600)
	expected, eta := 21*24*3600+148.0, 148.0
	r.Deployment.ExpectedDurationSeconds, r.Deployment.ETASeconds = &expected, &eta
	if cells := output.WatchCells(r); cells[6] == "-" || cells[7] != "2m28s" {
		t.Fatalf("not stuck: progress %q, ETA %q; want a bar and 2m28s", cells[6], cells[7])
	}
	if got := output.Outcome(r.Deployment); got != "in progress, ETA 2m28s" {
		t.Fatalf("not stuck: Outcome = %q", got)
	}
	r.Deployment.Stuck = true
	if cells := output.WatchCells(r); cells[4] != "build 21d00h STUCK" || cells[6] != "-" || cells[7] != "-" {
		t.Errorf("stuck: step %q, progress %q, ETA %q; want STUCK, - and -", cells[4], cells[6], cells[7])
	}
	if got := output.Outcome(r.Deployment); got != "in progress, stuck" {
		t.Errorf("stuck: Outcome = %q, want %q", got, "in progress, stuck")
	}
}
