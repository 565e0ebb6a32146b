package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// cliPair runs "stepsctl record" and curl sending the same step to the same
// server, each as a whole process, and returns their wall times. stepsctl
// gets a HOME of its own (no config file, an empty spool); curl sends the
// request stepsctl sends: a JSON body with an Idempotency-Key.
func cliPair(ctx context.Context, stepsctl, curl, base, home string, i int, curlFirst bool) (ctlTime, curlTime time.Duration, err error) {
	version := "1.0." + strconv.Itoa(i)
	ctlArgs := []string{"record", "--component", "cli-bench", "--version", version, "--status", "build",
		"--owner", "bench", "--env", "production", "--server", base, "-q"}
	ctlEnv := childEnv("HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"), "USER=bench")

	key := make([]byte, 16)
	rand.Read(key)
	body := `{"component":"cli-bench","version":"` + version + `","owner":"bench","status":"build","environment":"production"}`
	curlArgs := []string{"-sS", "-f", "-o", "/dev/null", "-X", "POST",
		"-H", "Content-Type: application/json", "-H", "Idempotency-Key: " + hex.EncodeToString(key),
		"--data-binary", body, base + "/v1/steps"}

	runCtl := func() error {
		ctlTime, err = timeProcess(ctx, stepsctl, ctlArgs, ctlEnv)
		return err
	}
	runCurl := func() error {
		curlTime, err = timeProcess(ctx, curl, curlArgs, childEnv())
		return err
	}
	order := []func() error{runCtl, runCurl}
	if curlFirst {
		order[0], order[1] = order[1], order[0]
	}
	for _, f := range order {
		if err := f(); err != nil {
			return 0, 0, err
		}
	}
	return ctlTime, curlTime, nil
}

// timeProcess runs bin to completion and returns its wall time, from start
// to exit.
func timeProcess(ctx context.Context, bin string, args, env []string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out := &tailBuffer{max: 2 << 10}
	cmd.Stdout = out
	cmd.Stderr = out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), args[0], err, out.String())
	}
	return took, nil
}
