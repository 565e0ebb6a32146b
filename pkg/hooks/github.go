package hooks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/steps-dev/steps/pkg/model"
)

// ghRepo and ghUser are the parts of GitHub's repository and sender
// objects that a step needs.
type ghRepo struct {
	Name     string `json:"name"`
	FullName string `json:"full_name"`
}

type ghUser struct {
	Login string `json:"login"`
}

// ghWorkflowJob is a workflow_job event: fields as in GitHub's webhook
// schema (workflow_job.steps[] with number, status, conclusion,
// started_at, completed_at).
type ghWorkflowJob struct {
	Action string `json:"action"`
	Job    struct {
		ID           int64  `json:"id"`
		RunID        int64  `json:"run_id"`
		RunAttempt   int    `json:"run_attempt"`
		Name         string `json:"name"`
		WorkflowName string `json:"workflow_name"`
		HeadBranch   string `json:"head_branch"`
		HeadSHA      string `json:"head_sha"`
		Status       string `json:"status"`
		Conclusion   string `json:"conclusion"`
		StartedAt    string `json:"started_at"`
		CompletedAt  string `json:"completed_at"`
		Steps        []struct {
			Name        string `json:"name"`
			Number      int    `json:"number"`
			Status      string `json:"status"`
			Conclusion  string `json:"conclusion"`
			StartedAt   string `json:"started_at"`
			CompletedAt string `json:"completed_at"`
		} `json:"steps"`
	} `json:"workflow_job"`
	Repository ghRepo `json:"repository"`
	Sender     ghUser `json:"sender"`
}

// ghDeploymentStatus is a deployment_status event.
type ghDeploymentStatus struct {
	Action           string `json:"action"`
	DeploymentStatus struct {
		ID          int64  `json:"id"`
		State       string `json:"state"`
		Environment string `json:"environment"`
		CreatedAt   string `json:"created_at"`
	} `json:"deployment_status"`
	Deployment struct {
		ID          int64  `json:"id"`
		Ref         string `json:"ref"`
		SHA         string `json:"sha"`
		Environment string `json:"environment"`
		Task        string `json:"task"`
	} `json:"deployment"`
	Repository ghRepo `json:"repository"`
	Sender     ghUser `json:"sender"`
}

// ghShortSHA is how many hex digits GitHub shows of a commit.
const ghShortSHA = 7

// GitHub maps one GitHub webhook delivery (its X-GitHub-Event and body)
// to records. An error means the payload is not what the event promises
// (bad JSON, a missing field, an unreadable time); a Result with Ignored
// set means a well-formed event that records nothing.
func GitHub(event string, body []byte, m *Mapping) (Result, error) {
	m = m.orZero()
	switch event {
	case "workflow_job":
		var p ghWorkflowJob
		if err := decode("workflow_job", body, &p); err != nil {
			return Result{}, err
		}
		r, err := githubJob(&p, m)
		if err != nil || r.Ignored != "" {
			return r, err
		}
		return r.validate()
	case "deployment_status":
		var p ghDeploymentStatus
		if err := decode("deployment_status", body, &p); err != nil {
			return Result{}, err
		}
		r, err := githubDeploymentStatus(&p, m)
		if err != nil || r.Ignored != "" {
			return r, err
		}
		return r.validate()
	case "":
		return Result{}, fmt.Errorf("the X-GitHub-Event header is missing")
	default:
		return ignored("event %s is not used (send workflow_job and deployment_status)", model.Quote(event)), nil
	}
}

// githubJob maps workflow_job: each step that has started becomes a step
// at its started_at, named as in the workflow (see stepStatus); a
// completed job adds its end at completed_at (finished, failed or
// cancelled).
func githubJob(p *ghWorkflowJob, m *Mapping) (Result, error) {
	j := &p.Job
	if p.Action != "in_progress" && p.Action != "completed" {
		return ignored("workflow_job %s is not used (in_progress and completed are)", model.Quote(p.Action)), nil
	}
	if j.ID == 0 {
		return Result{}, fmt.Errorf("workflow_job.id is missing")
	}
	if !matches(m.Deploys.Workflows, j.WorkflowName) {
		return ignored("workflow %s is not a deploy in the mapping file", model.Quote(j.WorkflowName)), nil
	}
	if !matches(m.Deploys.Jobs, j.Name) {
		return ignored("job %s is not a deploy in the mapping file", model.Quote(j.Name)), nil
	}
	env := m.environment("", j.WorkflowName)
	if !matches(m.Deploys.Environments, env) {
		return ignored("environment %s is not a deploy in the mapping file", model.Quote(env)), nil
	}
	env = matrixEnvironment(env, j.Name)
	if j.Conclusion == "skipped" {
		return ignored("job %d was skipped: it ran no steps", j.ID), nil
	}
	base := model.StepInput{
		Component:   m.component(p.Repository.FullName, p.Repository.Name),
		Version:     version(j.HeadBranch, false, j.HeadSHA, ghShortSHA),
		Owner:       p.Sender.Login,
		Environment: env,
		Revision:    revision(j.HeadSHA),
	}
	attempt := max(j.RunAttempt, 1)
	prefix := "github:job:" + strconv.FormatInt(j.ID, 10) + ":" + strconv.Itoa(attempt)
	var r Result
	for _, st := range j.Steps {
		// A queued step has not started; a skipped one took no time and
		// would only add an empty phase.
		if st.StartedAt == "" || st.Status == "queued" || st.Conclusion == "skipped" {
			continue
		}
		if st.Number <= 0 {
			// Its key would be every such step's, in every job run.
			return Result{}, fmt.Errorf("workflow_job.steps.number is missing on step %s", model.Quote(st.Name))
		}
		at, err := parseTime("workflow_job.steps.started_at", st.StartedAt)
		if err != nil {
			return Result{}, err
		}
		in := base
		in.Status, in.Time = stepStatus(st.Name), at
		r.Records = append(r.Records, Record{Step: in, Key: prefix + ":step:" + strconv.Itoa(st.Number)})
	}
	if p.Action == "completed" && len(r.Records) == 0 {
		// A job that ended without starting a step never ran: cancelled
		// while queued (a concurrency group's superseded run), refused
		// for a spending limit, never given a runner. Nothing was
		// deployed; its end alone was a deployment of nothing but
		// "cancelled" or "failed", counted in the change failure rate.
		return ignored("job %d completed (%s) without starting a step: it never ran, so nothing was deployed", j.ID, model.Quote(j.Conclusion)), nil
	}
	if p.Action == "completed" {
		end := githubJobEnd(j.Conclusion)
		at, err := parseTime("workflow_job.completed_at", j.CompletedAt)
		if err != nil {
			return Result{}, err
		}
		if at.IsZero() {
			return Result{}, fmt.Errorf("workflow_job.completed_at is missing on a completed job")
		}
		in := base
		in.Status, in.Time = end, at
		r.Records = append(r.Records, Record{Step: in, Key: prefix + ":end"})
	}
	if len(r.Records) == 0 {
		return ignored("job %d has no started step yet", j.ID), nil
	}
	return r, nil
}

// matrixValues matches the values GitHub adds to the name of a matrix
// job's leg ("deploy (eu-west-1)", "test (ubuntu-latest, 18)"), also
// before the job of a reusable workflow it calls ("deploy (eu-west-1) /
// rollout").
var matrixValues = regexp.MustCompile(` \(([^()]+)\)`)

// matrixEnvironment is the environment of a job named name in a workflow
// whose environment is env: env, and for a matrix leg env with the leg's
// values ("Deploy (eu-west-1)"). A matrix's legs run at once in one run,
// and with one environment their steps interleaved in one deployment,
// which the first leg's end closed; the mapping file's deploys.jobs
// cannot tell them apart, as they share the job's name. The deploys
// filter has taken or left out the leg by env already. Past the 64
// characters an environment may have, it is shortened as a long job name
// is (see stepStatus).
func matrixEnvironment(env, name string) string {
	found := matrixValues.FindAllStringSubmatch(name, -1)
	if len(found) == 0 {
		return env
	}
	values := make([]string, len(found))
	for i, f := range found {
		values[i] = f[1]
	}
	return stepStatus(strings.TrimSpace(env + " (" + strings.Join(values, ", ") + ")"))
}

// githubJobEnd is the terminal status of a completed job's conclusion.
// A job stopped by its timeout-minutes ends timed-out, a failure by the
// default rules, rather than failed: its duration is the timeout, not the
// work's, and the traces' result says timeout (a hung rollout is not a
// failed test).
func githubJobEnd(conclusion string) string {
	switch conclusion {
	case "success", "neutral":
		return "finished"
	case "cancelled":
		return "cancelled"
	case "timed_out":
		return "timed-out"
	default: // failure, action_required, startup_failure, stale
		return "failed"
	}
}

// githubDeploymentStatus maps deployment_status: the state becomes a step
// at the status's created_at, success → finished, failure and error →
// failed, the others (queued, in_progress, pending, waiting) by name;
// inactive records nothing.
func githubDeploymentStatus(p *ghDeploymentStatus, m *Mapping) (Result, error) {
	ds := &p.DeploymentStatus
	if ds.ID == 0 || ds.State == "" {
		return Result{}, fmt.Errorf("deployment_status.id and deployment_status.state are required")
	}
	env := p.Deployment.Environment
	if env == "" {
		env = ds.Environment
	}
	env = m.environment(env, "")
	if !matches(m.Deploys.Environments, env) {
		return ignored("environment %s is not a deploy in the mapping file", model.Quote(env)), nil
	}
	at, err := parseTime("deployment_status.created_at", ds.CreatedAt)
	if err != nil {
		return Result{}, err
	}
	if at.IsZero() {
		return Result{}, fmt.Errorf("deployment_status.created_at is missing")
	}
	status := strings.ToLower(ds.State)
	if status == "inactive" {
		// Inactive is set after a deployment ended, when a newer one
		// superseded it or its environment went away: not a phase of a
		// deploy. Stored, it followed the old deployment's end as a
		// deployment of its own, nothing but "inactive", in progress for
		// good.
		return ignored("deployment_status %d is inactive: it marks deployment %d superseded after it ended, not a step of a deploy", ds.ID, p.Deployment.ID), nil
	}
	switch status {
	case "success":
		status = "finished"
	case "failure", "error":
		status = "failed"
	}
	in := model.StepInput{
		Component:   m.component(p.Repository.FullName, p.Repository.Name),
		Version:     version(p.Deployment.Ref, false, p.Deployment.SHA, ghShortSHA),
		Owner:       p.Sender.Login,
		Status:      status,
		Environment: env,
		Time:        at,
		Revision:    revision(p.Deployment.SHA),
	}
	return Result{Records: []Record{{Step: in, Key: "github:deployment_status:" + strconv.FormatInt(ds.ID, 10)}}}, nil
}
