package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	built := func(mainVersion string, settings ...debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: mainVersion}, Settings: settings}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef0123"}
	dirty := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	for _, tc := range []struct {
		name string
		v    string
		info *debug.BuildInfo
		want string
	}{
		{"set at build time wins", "1.4.2", built("v1.0.0", rev), "stepsd 1.4.2 (commit 0123456789ab, go1.26.8, linux/amd64)"},
		{"go install: the module version", "", built("v1.4.2"), "stepsd v1.4.2 (commit unknown, go1.26.8, linux/amd64)"},
		{"a working tree", "", built("(devel)", rev, dirty), "stepsd (devel) (commit 0123456789ab-dirty, go1.26.8, linux/amd64)"},
		{"no build info", "", nil, "stepsd (devel) (commit unknown, "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := format("stepsd", tc.v, tc.info, "linux/amd64")
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
