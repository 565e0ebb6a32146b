package command

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/steps-dev/steps/pkg/model"
)

// CommitOptions are the flags of record and run that say which commit a
// step deploys: given by hand, or read from git.
type CommitOptions struct {
	Revision    string
	CommittedAt string
	NoGit       bool
}

// commitHelp is the one description of these flags, in the help of record
// and run alike.
const commitHelp = `The step carries the commit it deploys (revision) and when that commit was
made (committed_at), from which the server measures lead time for changes.
Run inside a git work tree, stepsctl reads them from git: the HEAD commit
("git rev-parse HEAD") and its committer time. --revision and
--committed-at set them by hand (with --revision, git is not asked: its
commit time is --committed-at's, or none); --no-git turns git off. A step
recorded with --time before HEAD's commit time carries neither: HEAD was
not what was deployed then. Outside
a work tree, or without git, the step carries neither, and nothing is said
(STEPSCTL_DEBUG=1 says why on stderr).`

func addCommitFlags(fl *pflag.FlagSet, c *CommitOptions) {
	fl.StringVar(&c.Revision, "revision", "", "the commit deployed, up to 64 characters (default: git HEAD, in a work tree)")
	fl.StringVar(&c.CommittedAt, "committed-at", "", "when that commit was made: a datetime or a span back from now (default: HEAD's commit time, from git)")
	fl.BoolVar(&c.NoGit, "no-git", false, "do not read the revision and its commit time from git")
}

// gitTimeout bounds the git commands: a deploy never waits long on them.
const gitTimeout = 5 * time.Second

// fill sets in's revision and commit time from the flags and, for what
// they leave unset, from git.
func (c CommitOptions) fill(ctx context.Context, f *Factory, in *model.StepInput) error {
	if c.CommittedAt != "" {
		t, err := model.ParseSinceAt("--committed-at", c.CommittedAt, f.Now())
		if err != nil {
			return &UsageError{Err: err}
		}
		// Said here, before the deploy's step is sent and refused.
		if t.After(f.Now().Add(maxFutureSkew)) {
			return usageErrorf("--committed-at: %s is in the future; a commit is made before it is deployed", c.CommittedAt)
		}
		f.warnReadAsUTC("--committed-at", c.CommittedAt, t)
		in.CommittedAt = t
	}
	if c.Revision != "" || c.NoGit {
		in.Revision = c.Revision
		return nil
	}
	log := f.debugLog()
	rev, at, err := gitHead(ctx, f.Dir)
	if err != nil {
		log.Debug("no revision from git", "dir", f.Dir, "err", err)
		return nil
	}
	// A step recorded for an earlier moment (record --time, a backfill)
	// cannot deploy a commit made after it: today's HEAD is then another
	// commit than the one deployed, and would be shown as the deploy's.
	if !in.Time.IsZero() && at.After(in.Time) {
		log.Debug("HEAD was committed after the step's --time; not sent", "revision", rev, "committed_at", at, "time", in.Time)
		return nil
	}
	in.Revision = rev
	log.Debug("revision from git", "revision", rev, "committed_at", at)
	if !in.CommittedAt.IsZero() {
		return nil
	}
	// A committer's clock ahead of ours would make the server refuse the
	// step: the deploy goes on without the commit time.
	if limit := f.Now().Add(maxFutureSkew); at.After(limit) {
		log.Debug("commit time from git is in the future; not sent", "committed_at", at)
		return nil
	}
	in.CommittedAt = model.TruncateTime(at)
	return nil
}

// gitHead returns the HEAD commit of the repository at dir ("" the
// current directory) and its committer time. One git process asks for
// both: each costs a deploy script about 10 ms per recorded step, which
// two processes (rev-parse, then show) had doubled.
func gitHead(ctx context.Context, dir string) (string, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	out, err := git(ctx, dir, "show", "-s", "--no-show-signature", "--format=%H%n%cI", "HEAD")
	if err != nil {
		return "", time.Time{}, err
	}
	rev, when, _ := strings.Cut(out, "\n")
	rev = strings.TrimSpace(rev)
	if rev == "" || len(rev) > model.MaxRevisionLen {
		return "", time.Time{}, fmt.Errorf("git show HEAD gave %q", out)
	}
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(when))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("commit time of %s: %w", rev, err)
	}
	return rev, at.UTC(), nil
}

// git runs git with args in dir and returns its output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// debugLog is the log of what stepsctl does quietly: on stderr with
// STEPSCTL_DEBUG set, else nowhere.
func (f *Factory) debugLog() *slog.Logger {
	if f.Getenv("STEPSCTL_DEBUG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
