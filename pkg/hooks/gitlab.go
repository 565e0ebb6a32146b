package hooks

import (
	"cmp"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// glProject and glUser are the parts of GitLab's project and user objects
// that a step needs.
type glProject struct {
	Name              string `json:"name"`
	PathWithNamespace string `json:"path_with_namespace"`
}

type glUser struct {
	Username string `json:"username"`
	Name     string `json:"name"`
}

// glOwner is who a GitLab step is recorded for: the user's username, else
// the user's name, else the commit's author. GitLab's documented Job Hook
// has a user without a username, and a user GitLab no longer has comes as
// null; the owner is required, and without one the whole delivery was
// refused (202) and its steps lost.
func glOwner(u glUser, author string) string {
	return cmp.Or(strings.TrimSpace(u.Username), strings.TrimSpace(u.Name), strings.TrimSpace(author))
}

type glEnvironment struct {
	Name   string `json:"name"`
	Action string `json:"action"`
}

// glPipeline is a Pipeline Hook: the pipeline and its jobs (builds[]), as
// in GitLab's webhook events documentation.
type glPipeline struct {
	ObjectKind string `json:"object_kind"`
	Attrs      struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		Ref        string `json:"ref"`
		Tag        bool   `json:"tag"`
		SHA        string `json:"sha"`
		Status     string `json:"status"`
		FinishedAt string `json:"finished_at"`
	} `json:"object_attributes"`
	User    glUser    `json:"user"`
	Project glProject `json:"project"`
	// Commit is the pipeline's commit; timestamp is when it was made.
	Commit struct {
		Timestamp string `json:"timestamp"`
		Author    struct {
			Name string `json:"name"`
		} `json:"author"`
	} `json:"commit"`
	Builds []glBuild `json:"builds"`
}

// glBuild is one job of a Pipeline Hook's builds[].
type glBuild struct {
	ID           int64          `json:"id"`
	Stage        string         `json:"stage"`
	Name         string         `json:"name"`
	Status       string         `json:"status"`
	StartedAt    string         `json:"started_at"`
	FinishedAt   string         `json:"finished_at"`
	AllowFailure bool           `json:"allow_failure"`
	When         string         `json:"when"`
	Manual       bool           `json:"manual"`
	Environment  *glEnvironment `json:"environment"`
}

// glJob is a Job Hook.
type glJob struct {
	ObjectKind   string `json:"object_kind"`
	Ref          string `json:"ref"`
	Tag          bool   `json:"tag"`
	SHA          string `json:"sha"`
	BuildID      int64  `json:"build_id"`
	BuildName    string `json:"build_name"`
	BuildStatus  string `json:"build_status"`
	StartedAt    string `json:"build_started_at"`
	FinishedAt   string `json:"build_finished_at"`
	AllowFailure bool   `json:"build_allow_failure"`
	PipelineID   int64  `json:"pipeline_id"`
	// Commit is, despite its name, the job's pipeline: its name is the
	// pipeline's (workflow:name), which the Pipeline Hook maps too.
	Commit struct {
		Name       string `json:"name"`
		AuthorName string `json:"author_name"`
	} `json:"commit"`
	ProjectName string `json:"project_name"`
	// Repository is the job's project too; homepage is its URL, whose
	// path is the project's (see glJobProject).
	Repository struct {
		Homepage string `json:"homepage"`
	} `json:"repository"`
	User        glUser         `json:"user"`
	Project     glProject      `json:"project"`
	Environment *glEnvironment `json:"environment"`
}

// glDeployment is a Deployment Hook. status_changed_at comes as
// "2021-04-28 21:50:00 +0200".
type glDeployment struct {
	ObjectKind      string    `json:"object_kind"`
	Status          string    `json:"status"`
	StatusChangedAt string    `json:"status_changed_at"`
	DeploymentID    int64     `json:"deployment_id"`
	Environment     string    `json:"environment"`
	Ref             string    `json:"ref"`
	ShortSHA        string    `json:"short_sha"`
	CommitURL       string    `json:"commit_url"`
	User            glUser    `json:"user"`
	Project         glProject `json:"project"`
}

// glShortSHA is how many hex digits GitLab shows of a commit.
const glShortSHA = 8

// GitLab maps one GitLab webhook delivery (its X-Gitlab-Event and body) to
// records, as GitHub does for GitHub's.
func GitLab(event string, body []byte, m *Mapping) (Result, error) {
	m = m.orZero()
	kind := map[string]string{"Pipeline Hook": "pipeline", "Job Hook": "build", "Deployment Hook": "deployment"}[event]
	if kind == "" && (event == "" || event == "System Hook") {
		// System hooks carry several kinds under one header.
		var p struct {
			ObjectKind string `json:"object_kind"`
		}
		if err := decode("GitLab", body, &p); err != nil {
			return Result{}, err
		}
		kind = p.ObjectKind
	}
	var (
		r   Result
		err error
	)
	switch kind {
	case "pipeline":
		var p glPipeline
		if err := decode("Pipeline Hook", body, &p); err != nil {
			return Result{}, err
		}
		r, err = gitlabPipeline(&p, m)
	case "build":
		var p glJob
		if err := decode("Job Hook", body, &p); err != nil {
			return Result{}, err
		}
		r, err = gitlabJob(&p, m)
	case "deployment":
		var p glDeployment
		if err := decode("Deployment Hook", body, &p); err != nil {
			return Result{}, err
		}
		r, err = gitlabDeployment(&p, m)
	default:
		return ignored("event %s is not used (send Pipeline, Job and Deployment events)", model.Quote(event)), nil
	}
	if err != nil || r.Ignored != "" {
		return r, err
	}
	return r.validate()
}

// glComponent maps a GitLab project: by its path ("group/api"), its last
// segment ("api", the repository's name) or its display name.
func (m *Mapping) glComponent(p glProject, fallbackName string) string {
	slug := path.Base(p.PathWithNamespace)
	if p.PathWithNamespace == "" {
		slug = p.Name
	}
	if slug == "" || slug == "." {
		slug = fallbackName
	}
	if c, ok := lookup(m.Components, p.PathWithNamespace, slug, p.Name); ok {
		return c
	}
	return slug
}

// glEnd is the terminal status of a finished pipeline or job, "" while it
// has not finished.
func glEnd(status string) string {
	switch status {
	case "success":
		return "finished"
	case "failed":
		return "failed"
	case "canceled", "cancelled":
		return "cancelled"
	}
	return ""
}

// gitlabPipeline maps a Pipeline Hook: each job that has started becomes a
// step at its started_at, named after the job; a finished pipeline adds
// its end at finished_at. Every status change of the pipeline sends the
// jobs so far, and the keys (job id; pipeline id and status) make the
// repeats no-ops.
func gitlabPipeline(p *glPipeline, m *Mapping) (Result, error) {
	a := &p.Attrs
	if a.ID == 0 {
		return Result{}, fmt.Errorf("object_attributes.id is missing")
	}
	if !matches(m.Deploys.Workflows, a.Name) {
		return ignored("pipeline %s is not a deploy in the mapping file", model.Quote(a.Name)), nil
	}
	env := m.environment(glPipelineEnv(p.Builds, m), a.Name)
	if !matches(m.Deploys.Environments, env) {
		return ignored("environment %s is not a deploy in the mapping file", model.Quote(env)), nil
	}
	base := model.StepInput{
		Component:   m.glComponent(p.Project, ""),
		Version:     version(a.Ref, a.Tag, a.SHA, glShortSHA),
		Owner:       glOwner(p.User, p.Commit.Author.Name),
		Environment: env,
		Revision:    revision(a.SHA),
	}
	var r Result
	last, lastJob := "", int64(0) // the latest end of a job that ran, and that job
	for _, b := range p.Builds {
		if b.StartedAt == "" || !matches(m.Deploys.Jobs, b.Name) {
			continue
		}
		if b.ID <= 0 {
			// Its key would be every such job's, in every pipeline.
			return Result{}, fmt.Errorf("builds.id is missing on job %s", model.Quote(b.Name))
		}
		at, err := parseTime("builds.started_at", b.StartedAt)
		if err != nil {
			return Result{}, err
		}
		if b.FinishedAt > last || (b.FinishedAt == last && b.FinishedAt != "" && b.ID > lastJob) {
			last, lastJob = b.FinishedAt, b.ID
		}
		in := base
		in.Status, in.Time = stepStatus(b.Name), at
		r.Records = append(r.Records, Record{Step: in, Key: "gitlab:build:" + strconv.FormatInt(b.ID, 10) + ":start"})
	}
	if a.Status == "manual" && len(r.Records) > 0 && last != "" {
		// The pipeline waits for a person to play a manual job. Without a
		// step of its own, the wait (hours, at times) was the phase of
		// the job that ran last: a test of 3 minutes stood as one of 5 h,
		// and the step blame named it. The wait is keyed by the job whose
		// end began it: by the job it waits for, a second wait for that
		// job (another manual job played first, then back to manual) was
		// a replay of the first, and stood as the played job's phase.
		if glWaitsForManualJob(p.Builds) {
			at, err := parseTime("builds.finished_at", last)
			if err != nil {
				return Result{}, err
			}
			in := base
			in.Status, in.Time = "manual", at
			r.Records = append(r.Records, Record{Step: in, Key: "gitlab:pipeline:" + strconv.FormatInt(a.ID, 10) + ":manual:" + strconv.FormatInt(lastJob, 10)})
		}
	}
	if len(m.Deploys.Jobs) > 0 && len(r.Records) == 0 {
		return ignored("pipeline %d has no job that is a deploy in the mapping file", a.ID), nil
	}
	if len(r.Records) == 0 && glEnd(a.Status) != "" {
		// A pipeline that ended without starting a job never ran one:
		// canceled while pending (GitLab's auto-cancel of redundant
		// pipelines), or failed to create its jobs. Nothing was
		// deployed; its end alone was a deployment of nothing but
		// "cancelled" or "failed", counted in the change failure rate.
		return ignored("pipeline %d ended (%s) without starting a job: nothing was deployed", a.ID, a.Status), nil
	}
	if end := glEnd(a.Status); end != "" {
		finished := a.FinishedAt
		if finished == "" {
			finished = last // a canceled pipeline may have no finished_at
		}
		at, err := parseTime("object_attributes.finished_at", finished)
		if err != nil {
			return Result{}, err
		}
		if !at.IsZero() {
			in := base
			in.Status, in.Time = end, at
			// Only the end carries the commit time: the jobs' records are
			// also sent by Job Hooks, which have none, under the same keys,
			// and must be the same records.
			if in.CommittedAt, err = parseTime("commit.timestamp", p.Commit.Timestamp); err != nil {
				return Result{}, err
			}
			r.Records = append(r.Records, Record{Step: in, Key: glEndKey(a.ID, a.Status, glEndJob(p.Builds, a.Status))})
		}
	}
	if len(r.Records) == 0 {
		return ignored("pipeline %d (%s) has no started job yet", a.ID, a.Status), nil
	}
	return r, nil
}

// glPipelineEnv is the environment of a pipeline's steps: that of its
// deploy jobs (jobs with environment: that deploys.jobs takes), "" when it
// has none. Of several, it passes over a manual job that has not started
// (played, it counts once it starts), since such a job may never run and
// GitLab lists it all the same: GitLab's own example lists a skipped
// manual production job before the staging job the pipeline deploys. Of
// the others (started, or to run, or skipped or canceled on their own
// when the pipeline failed or was canceled: the deploy that failed), it
// takes the job with the highest id, the one GitLab created last: a later
// stage's, or a retry. Ids, unlike start times, do not change as the
// pipeline runs, so every delivery of a pipeline that deploys to staging
// and then to production gives its steps one environment, production,
// rather than the first few staging's, left in progress for good; it
// changes only when a person plays a manual job or retries one, whose
// steps and end are then a deployment of their own (see glEndKey). When
// every deploy job is a manual one that has not started, the same rule
// applies to them all: with one environment in the pipeline, it is that.
func glPipelineEnv(builds []glBuild, m *Mapping) string {
	var (
		best    *glBuild
		bestRun bool
	)
	for i := range builds {
		b := &builds[i]
		if b.Environment == nil || b.Environment.Name == "" || !matches(m.Deploys.Jobs, b.Name) {
			continue
		}
		runs := b.StartedAt != "" || !(b.Manual || b.When == "manual" || b.Status == "manual")
		if best == nil || runs && !bestRun || runs == bestRun && b.ID > best.ID {
			best, bestRun = b, runs
		}
	}
	if best == nil {
		return ""
	}
	return best.Environment.Name
}

// glWaitsForManualJob reports whether a pipeline in status manual waits
// for one of its manual jobs: one that has not started and may not fail
// (those that may are passed over, and do not hold the pipeline).
func glWaitsForManualJob(builds []glBuild) bool {
	return slices.ContainsFunc(builds, func(b glBuild) bool {
		return b.Status == "manual" && b.StartedAt == "" && !b.AllowFailure && b.ID > 0
	})
}

// glEndKey is the key of a pipeline's end. The job that brought it about
// is part of it: a pipeline ends again each time one of its jobs is
// retried or a manual job is played, and under the pipeline's id and
// status alone that second end would be taken for a replay of the first,
// its deployment left in progress for good. A Job Hook that ends the
// deployment when its job fails gives the same key, so the pipeline's end
// that follows is its replay rather than a second, empty deployment.
func glEndKey(pipeline int64, status string, job int64) string {
	key := "gitlab:pipeline:" + strconv.FormatInt(pipeline, 10) + ":" + status
	if job > 0 {
		key += ":" + strconv.FormatInt(job, 10)
	}
	return key
}

// glEndJob is the job that ended a pipeline with status: for failed, the
// last to finish of its failed jobs that may not fail; for canceled, the
// last to finish of its canceled jobs that had started; else, and when no
// job fits, the job that started last (the retried or played one). It is
// 0 when no job started.
func glEndJob(builds []glBuild, status string) int64 {
	var (
		id   int64
		last time.Time
	)
	pick := func(ok func(b *glBuild) bool, at func(b *glBuild) string) {
		for i := range builds {
			b := &builds[i]
			if !ok(b) {
				continue
			}
			t, err := parseTime("", at(b))
			if err != nil {
				// The time only orders the candidates: an unreadable
				// one sorts first, and the job can still be picked.
				t = time.Time{}
			}
			if id == 0 || t.After(last) || (t.Equal(last) && b.ID > id) {
				id, last = b.ID, t
			}
		}
	}
	finished := func(b *glBuild) string { return b.FinishedAt }
	switch glEnd(status) {
	case "failed":
		pick(func(b *glBuild) bool { return glEnd(b.Status) == "failed" && !b.AllowFailure }, finished)
	case "cancelled":
		pick(func(b *glBuild) bool { return glEnd(b.Status) == "cancelled" && b.StartedAt != "" }, finished)
	}
	if id == 0 {
		pick(func(b *glBuild) bool { return b.StartedAt != "" }, func(b *glBuild) string { return b.StartedAt })
	}
	return id
}

// gitlabJob maps a Job Hook of a deploy job (one with an environment): a
// started job becomes a step at its started_at (the same record, under the
// same key, as in the Pipeline Hook); a started job that fails and may not
// fail, or is canceled, ends the deployment at its finished_at,
// under the key of the pipeline's end it brings about. A job's success
// does not: the pipeline's end does.
func gitlabJob(p *glJob, m *Mapping) (Result, error) {
	if p.BuildID == 0 {
		return Result{}, fmt.Errorf("build_id is missing")
	}
	if !matches(m.Deploys.Jobs, p.BuildName) {
		return ignored("job %s is not a deploy in the mapping file", model.Quote(p.BuildName)), nil
	}
	if p.Environment == nil || p.Environment.Name == "" {
		// Its environment is its pipeline's, which the Pipeline Hook takes
		// from the pipeline's deploy job. Recorded here under the same key,
		// without it, the job's step would stand in another deployment
		// than its pipeline's, left in progress for good.
		return ignored("job %s has no environment: it is recorded from its pipeline's Pipeline Hook", model.Quote(p.BuildName)), nil
	}
	env := m.environment(p.Environment.Name, p.Commit.Name)
	if !matches(m.Deploys.Environments, env) {
		return ignored("environment %s is not a deploy in the mapping file", model.Quote(env)), nil
	}
	base := model.StepInput{
		Component:   m.glComponent(glJobProject(p), path.Base(p.ProjectName)),
		Version:     version(p.Ref, p.Tag, p.SHA, glShortSHA),
		Owner:       glOwner(p.User, p.Commit.AuthorName),
		Environment: env,
		Revision:    revision(p.SHA),
	}
	id := strconv.FormatInt(p.BuildID, 10)
	var r Result
	if p.StartedAt != "" {
		at, err := parseTime("build_started_at", p.StartedAt)
		if err != nil {
			return Result{}, err
		}
		in := base
		in.Status, in.Time = stepStatus(p.BuildName), at
		r.Records = append(r.Records, Record{Step: in, Key: "gitlab:build:" + id + ":start"})
	}
	// A job canceled before it started is one of a canceled pipeline's
	// bystanders; the pipeline's end records the cancellation. One that
	// failed before it started never ran (no runner took it in time, its
	// deployment was rejected or outdated): its end alone was a failed
	// deployment of nothing. When other jobs of its pipeline started, the
	// Pipeline Hook ends their deployment under the same key.
	if end := glEnd(p.BuildStatus); (end == "failed" || end == "cancelled") && p.StartedAt != "" && !p.AllowFailure {
		at, err := parseTime("build_finished_at", p.FinishedAt)
		if err != nil {
			return Result{}, err
		}
		if !at.IsZero() {
			in := base
			in.Status, in.Time = end, at
			key := "gitlab:build:" + id + ":" + p.BuildStatus
			if p.PipelineID > 0 {
				key = glEndKey(p.PipelineID, p.BuildStatus, p.BuildID)
			}
			r.Records = append(r.Records, Record{Step: in, Key: key})
		}
	}
	if len(r.Records) == 0 {
		if glEnd(p.BuildStatus) != "" {
			return ignored("job %d ended (%s) without starting: it never ran, so nothing was deployed", p.BuildID, p.BuildStatus), nil
		}
		return ignored("job %d (%s) has not started", p.BuildID, p.BuildStatus), nil
	}
	return r, nil
}

// glJobProject is the project of a Job Hook. GitLab sent Job Hooks without
// the project object before it added it to them; the project's path
// ("acme/payments") is then the path of repository.homepage, the
// project's URL. Their project_name is the project's full name
// ("acme / Payments"), whose last part is the display name, not the path
// the Pipeline Hook's component comes from: the job's step stood in a
// component of its own, and the pipeline's record of it, under the same
// key, was dropped as a replay.
func glJobProject(p *glJob) glProject {
	if p.Project.PathWithNamespace != "" || p.Repository.Homepage == "" {
		return p.Project
	}
	u, err := url.Parse(p.Repository.Homepage)
	if err != nil {
		return p.Project
	}
	project := p.Project
	project.PathWithNamespace = strings.Trim(u.Path, "/")
	return project
}

// gitlabDeployment maps a Deployment Hook: each status change becomes a
// step at status_changed_at, success → finished, failed → failed,
// canceled → cancelled, the others (running, …) by name.
func gitlabDeployment(p *glDeployment, m *Mapping) (Result, error) {
	if p.DeploymentID == 0 || p.Status == "" {
		return Result{}, fmt.Errorf("deployment_id and status are required")
	}
	env := m.environment(p.Environment, "")
	if !matches(m.Deploys.Environments, env) {
		return ignored("environment %s is not a deploy in the mapping file", model.Quote(env)), nil
	}
	at, err := parseTime("status_changed_at", p.StatusChangedAt)
	if err != nil {
		return Result{}, err
	}
	if at.IsZero() {
		return Result{}, fmt.Errorf("status_changed_at is missing")
	}
	status := glEnd(p.Status)
	if status == "" {
		status = strings.ToLower(p.Status)
	}
	in := model.StepInput{
		Component:   m.glComponent(p.Project, ""),
		Version:     version(p.Ref, false, p.ShortSHA, glShortSHA),
		Owner:       glOwner(p.User, ""),
		Status:      status,
		Environment: env,
		Time:        at,
		// The full commit id is only in commit_url.
		Revision: cmp.Or(revision(path.Base(p.CommitURL)), revision(p.ShortSHA)),
	}
	key := "gitlab:deployment:" + strconv.FormatInt(p.DeploymentID, 10) + ":" + strings.ToLower(p.Status)
	return Result{Records: []Record{{Step: in, Key: key}}}, nil
}
