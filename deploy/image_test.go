// Run these tests with:
//
//	cd deploy && go test ./...

package deploy

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, …
	args string
}

// stage is one FROM … of a Dockerfile and its instructions.
type stage struct {
	from string
	name string
	ins  []instruction
}

func readDockerfile(t *testing.T) []stage {
	t.Helper()
	var stages []stage
	sc := bufio.NewScanner(strings.NewReader(mustRead(t, dockerfile)))
	var cur strings.Builder
	start := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			start = n
		} else if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--platform=") })
			st := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			continue // ARG before the first FROM
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	if len(stages) < 2 {
		t.Fatalf("%s: want a multi-stage build (a Go builder, then a minimal image)", dockerfile)
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// execForm decodes an instruction's JSON array form, or fails.
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil || len(argv) == 0 {
		t.Errorf("%s:%d: %s must use the exec form [\"…\"]: the image has no shell", dockerfile, in.line, in.cmd)
	}
	return argv
}

func TestDockerfile(t *testing.T) {
	facts := loadStepsd(t)
	stages := readDockerfile(t)
	build, final := stages[0], stages[len(stages)-1]

	// The builder: the Go of go.mod, static binaries with the version.
	if !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("%s: builder FROM %s; want golang:…", dockerfile, build.from)
	}
	goMod := mustRead(t, "../go.mod")
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(goMod)
	argGo := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\S+)`).FindStringSubmatch(mustRead(t, dockerfile))
	if goVersion == nil || argGo == nil {
		t.Errorf("%s: no ARG GO_VERSION=…, or ../go.mod has no go line", dockerfile)
	} else if argGo[1] != goVersion[1] {
		t.Errorf("%s: ARG GO_VERSION=%s; want %s, the go version of ../go.mod", dockerfile, argGo[1], goVersion[1])
	}
	var runs strings.Builder
	for _, in := range build.all("RUN") {
		runs.WriteString(in.args + "\n")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./cmd/stepsd", "./cmd/stepsctl"} {
		if !strings.Contains(runs.String(), want) {
			t.Errorf("%s: the builder's go build lacks %s", dockerfile, want)
		}
	}

	// The final image: minimal, non-root, stepsd as entrypoint.
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("%s: final FROM %s; want distroless static or scratch", dockerfile, final.from)
	}
	users := final.all("USER")
	if len(users) != 1 {
		t.Fatalf("%s: the final stage needs one USER", dockerfile)
	}
	uid, _, _ := strings.Cut(users[0].args, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("%s: USER %s; want a numeric non-root uid, so that Kubernetes' runAsNonRoot can check it", dockerfile, users[0].args)
	}
	var exposed []string
	for _, in := range final.all("EXPOSE") {
		exposed = append(exposed, strings.Fields(in.args)...)
	}
	if !slices.Equal(exposed, []string{strconv.Itoa(facts.listenPort)}) {
		t.Errorf("%s: EXPOSE %v; want %d, the --listen default", dockerfile, exposed, facts.listenPort)
	}
	if eps := final.all("ENTRYPOINT"); len(eps) != 1 {
		t.Errorf("%s: want one ENTRYPOINT", dockerfile)
	} else if argv := execForm(t, eps[0]); len(argv) != 1 || filepath.Base(argv[0]) != "stepsd" {
		t.Errorf("%s: ENTRYPOINT %v; want [\".../stepsd\"]", dockerfile, argv)
	}
	if hcs := final.all("HEALTHCHECK"); len(hcs) != 1 {
		t.Errorf("%s: want one HEALTHCHECK", dockerfile)
	} else {
		_, cmd, ok := strings.Cut(hcs[0].args, "CMD ")
		argv := execForm(t, instruction{line: hcs[0].line, cmd: "HEALTHCHECK CMD", args: cmd})
		if !ok || len(argv) < 2 || filepath.Base(argv[0]) != "stepsd" || argv[1] != "healthcheck" {
			t.Errorf("%s: HEALTHCHECK must run stepsd healthcheck", dockerfile)
		}
	}

	// Binaries and the data directory, owned by the image's user.
	var copies strings.Builder
	for _, in := range final.all("COPY") {
		copies.WriteString(in.args + "\n")
	}
	for _, bin := range []string{"/stepsd", "/stepsctl"} {
		if !strings.Contains(copies.String(), bin+" ") {
			t.Errorf("%s: the final image does not get %s", dockerfile, strings.TrimPrefix(bin, "/"))
		}
	}
	if !regexp.MustCompile(`--chown=` + uid + `(:\d+)? \S+ /data\b`).MatchString(copies.String()) {
		t.Errorf("%s: /data is not copied with --chown=%s: the non-root user could not write its SQLite file", dockerfile, uid)
	}
	var env strings.Builder
	for _, in := range final.all("ENV") {
		env.WriteString(in.args + " ")
	}
	envs := regexp.MustCompile(`(\w+)=(\S+)`).FindAllStringSubmatch(env.String(), -1)
	if len(envs) == 0 {
		t.Errorf("%s: no ENV (want STEPSD_DB=sqlite:/data/…)", dockerfile)
	}
	for _, m := range envs {
		facts.checkEnv(t, dockerfile+" ENV", m[1])
		if m[1] == "STEPSD_DB" && !strings.HasPrefix(m[2], "sqlite:/data/") {
			t.Errorf("%s: STEPSD_DB=%s; want sqlite:/data/… on the volume", dockerfile, m[2])
		}
	}
	vols := final.all("VOLUME")
	if len(vols) != 1 || !strings.Contains(vols[0].args, `"/data"`) {
		t.Errorf("%s: want VOLUME [\"/data\"]", dockerfile)
	}
}

func TestDockerignoreKeepsTheSource(t *testing.T) {
	var patterns []string
	for _, line := range strings.Split(mustRead(t, "../.dockerignore"), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	if !slices.Contains(patterns, ".git") {
		t.Errorf(".dockerignore does not exclude .git")
	}
	for _, p := range patterns {
		for _, keep := range []string{"go.mod", "go.sum", "cmd", "pkg", "api", "api/openapi.yaml", "internal", "pkg/store/migrations/mysql/x.sql"} {
			if ok, _ := filepath.Match(strings.TrimPrefix(p, "**/"), keep); ok {
				t.Errorf(".dockerignore pattern %q excludes %s, which the build needs", p, keep)
			}
		}
	}
}
