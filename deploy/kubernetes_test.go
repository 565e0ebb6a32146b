// Run these tests with:
//
//	cd deploy && go test ./...

package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	kubeDir = "kubernetes"
	// jobsDir holds one-shot Jobs, created with kubectl create, not applied
	// with the kustomization.
	jobsDir = "kubernetes/jobs"
)

// kustomization is the part of kustomize's Kustomization that the manifests
// use; decoding it strictly catches a misspelt or unexpected field.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

// object is one document of a manifest file, decoded into its API type.
type object struct {
	file string
	kind string
	obj  metav1.Object
}

func (o object) String() string {
	name := o.obj.GetName()
	if name == "" {
		name = o.obj.GetGenerateName() + "*"
	}
	return fmt.Sprintf("%s: %s %s", o.file, o.kind, name)
}

// newObject returns the API type of apiVersion and kind, or nil.
func newObject(apiVersion, kind string) metav1.Object {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}
	case "v1 Service":
		return &corev1.Service{}
	case "v1 Secret":
		return &corev1.Secret{}
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "batch/v1 Job":
		return &batchv1.Job{}
	}
	return nil
}

// decodeStrict decodes one YAML document into obj and fails where the API
// server would: a duplicate key, an unknown field, a field in the wrong case,
// a value of the wrong type, or anything after the object.
func decodeStrict(doc []byte, obj any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the object")
	}
	// encoding/json matches field names case-insensitively; the API server
	// does not, so decode again as it does.
	again := reflect.New(reflect.TypeOf(obj).Elem()).Interface()
	strict, err := sigsjson.UnmarshalStrict(js, again, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// readManifests decodes every document of a manifest file.
func readManifests(t *testing.T, path string) []object {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var objs []object
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	for n := 1; ; n++ {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, n, err)
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("%s: document %d: %v", path, n, err)
		}
		if meta == (metav1.TypeMeta{}) {
			if js, _ := yaml.YAMLToJSON(doc); string(js) == "null" {
				continue // only comments
			}
		}
		obj := newObject(meta.APIVersion, meta.Kind)
		if obj == nil {
			t.Errorf("%s: document %d: apiVersion %q kind %q: not a type this test knows; add it to newObject", path, n, meta.APIVersion, meta.Kind)
			continue
		}
		if err := decodeStrict(doc, obj); err != nil {
			t.Errorf("%s: document %d (%s): does not decode strictly into %T: %v", path, n, meta.Kind, obj, err)
			continue
		}
		objs = append(objs, object{file: path, kind: meta.Kind, obj: obj})
	}
	if len(objs) == 0 && !t.Failed() {
		t.Errorf("%s: no Kubernetes object", path)
	}
	return objs
}

// cluster is everything the kustomization applies, plus the one-shot Jobs.
type cluster struct {
	kust    kustomization
	objects []object // applied by the kustomization
	jobs    []object // in jobsDir

	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	services     map[string]*corev1.Service
	secrets      map[string]*corev1.Secret
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs         map[string]*policyv1.PodDisruptionBudget
}

func loadCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{
		deployments:  map[string]*appsv1.Deployment{},
		statefulSets: map[string]*appsv1.StatefulSet{},
		services:     map[string]*corev1.Service{},
		secrets:      map[string]*corev1.Secret{},
		hpas:         map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		pdbs:         map[string]*policyv1.PodDisruptionBudget{},
	}
	if err := decodeStrict([]byte(mustRead(t, filepath.Join(kubeDir, "kustomization.yaml"))), &c.kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if c.kust.APIVersion != "kustomize.config.k8s.io/v1beta1" || c.kust.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: apiVersion %q kind %q; want kustomize.config.k8s.io/v1beta1 Kustomization", c.kust.APIVersion, c.kust.Kind)
	}
	for _, res := range c.kust.Resources {
		c.objects = append(c.objects, readManifests(t, filepath.Join(kubeDir, res))...)
	}
	jobs, _ := filepath.Glob(filepath.Join(jobsDir, "*.y*ml"))
	for _, f := range jobs {
		c.jobs = append(c.jobs, readManifests(t, f)...)
	}

	seen := map[string]string{}
	for _, o := range c.objects {
		key := o.kind + "/" + o.obj.GetName()
		if prev, ok := seen[key]; ok {
			t.Errorf("%s: %s is also in %s", o.file, key, prev)
		}
		seen[key] = o.file
		switch obj := o.obj.(type) {
		case *appsv1.Deployment:
			c.deployments[obj.Name] = obj
		case *appsv1.StatefulSet:
			c.statefulSets[obj.Name] = obj
		case *corev1.Service:
			c.services[obj.Name] = obj
		case *corev1.Secret:
			c.secrets[obj.Name] = obj
		case *autoscalingv2.HorizontalPodAutoscaler:
			c.hpas[obj.Name] = obj
		case *policyv1.PodDisruptionBudget:
			c.pdbs[obj.Name] = obj
		case *batchv1.Job:
			t.Errorf("%s: a Job in the kustomization cannot be re-applied after an upgrade (its template is immutable); put it in %s", o, jobsDir)
		}
	}
	return c
}

// stepsd returns the stepsd Deployment and its stepsd container.
func (c *cluster) stepsd(t *testing.T) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	d := c.deployments["stepsd"]
	if d == nil {
		t.Fatalf("no Deployment named stepsd in the kustomization")
	}
	ct := container(d.Spec.Template.Spec, "stepsd")
	if ct == nil {
		t.Fatalf("Deployment stepsd has no container named stepsd")
	}
	return d, ct
}

func container(spec corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	return nil
}

// secretValue is key's value in a Secret's stringData or data.
func secretValue(s *corev1.Secret, key string) (string, bool) {
	if v, ok := s.StringData[key]; ok {
		return v, true
	}
	v, ok := s.Data[key]
	return string(v), ok
}

// resolvePort turns a probe's or Service's port (number or container port
// name) into a container port number.
func resolvePort(ct *corev1.Container, p intstr.IntOrString) (int, bool) {
	if p.Type == intstr.Int {
		return p.IntValue(), true
	}
	for _, cp := range ct.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), true
		}
	}
	return 0, false
}

func selects(t *testing.T, where string, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	if sel == nil {
		t.Errorf("%s: no selector", where)
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("%s: selector: %v", where, err)
		return false
	}
	if s.Empty() {
		t.Errorf("%s: the empty selector selects every pod", where)
		return false
	}
	return s.Matches(labels.Set(podLabels))
}

// checkHardened checks the pod and container security settings that every
// stepsd pod must have: non-root, read-only root filesystem, no privilege
// escalation, no capabilities, the runtime's seccomp profile, and no service
// account token.
func checkHardened(t *testing.T, where string, spec corev1.PodSpec, ct *corev1.Container) {
	t.Helper()
	pod := spec.SecurityContext
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	sc := ct.SecurityContext
	if sc == nil {
		t.Errorf("%s: container %s has no securityContext", where, ct.Name)
		return
	}
	if !isTrue(sc.RunAsNonRoot) && !isTrue(pod.RunAsNonRoot) {
		t.Errorf("%s: runAsNonRoot is not true", where)
	}
	for _, uid := range []*int64{pod.RunAsUser, sc.RunAsUser} {
		if uid != nil && *uid == 0 {
			t.Errorf("%s: runAsUser 0 (root)", where)
		}
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		t.Errorf("%s: readOnlyRootFilesystem is not true", where)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}
	if isTrue(sc.Privileged) {
		t.Errorf("%s: privileged", where)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities: want drop [ALL] and nothing added", where)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = pod.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile is not RuntimeDefault", where)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken is not false: stepsd never calls the Kubernetes API", where)
	}
	// A Service named stepsd would inject STEPSD_PORT, STEPSD_SERVICE_HOST, …
	// into the STEPSD_ namespace of stepsd's settings.
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Errorf("%s: enableServiceLinks is not false", where)
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// checkEnv checks a stepsd container's environment against stepsd and the
// Secrets: every name is one stepsd reads, secrets come from Secrets, and
// each Secret reference resolves.
func (c *cluster) checkEnv(t *testing.T, facts stepsdFacts, where string, ct *corev1.Container) map[string]corev1.EnvVar {
	t.Helper()
	env := map[string]corev1.EnvVar{}
	for _, e := range ct.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("%s: %s is set twice", where, e.Name)
		}
		env[e.Name] = e
		facts.checkEnv(t, where, e.Name)
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			c.checkSecretRef(t, where, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
		}
	}
	for _, name := range []string{"STEPSD_DB", "STEPSD_TOKENS"} {
		e, ok := env[name]
		if ok && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("%s: %s must come from a Secret (valueFrom.secretKeyRef), not a plain value", where, name)
		}
	}
	if len(ct.EnvFrom) > 0 {
		t.Errorf("%s: envFrom: name each variable, so that this test can check it is one stepsd reads", where)
	}
	return env
}

func (c *cluster) checkSecretRef(t *testing.T, where, name, key string) {
	t.Helper()
	s := c.secrets[name]
	if s == nil {
		t.Errorf("%s: Secret %s is not in the kustomization", where, name)
		return
	}
	if _, ok := secretValue(s, key); !ok {
		t.Errorf("%s: Secret %s has no key %s", where, name, key)
	}
}

func TestKubernetesKustomizationListsEveryManifest(t *testing.T) {
	c := loadCluster(t)
	files, err := filepath.Glob(filepath.Join(kubeDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	onDisk := map[string]bool{}
	for _, f := range files {
		base := filepath.Base(f)
		if info, err := os.Stat(f); err == nil && info.IsDir() {
			if f != jobsDir {
				t.Errorf("%s: a directory the test does not know; manifests go directly in %s (or Jobs in %s)", f, kubeDir, jobsDir)
			}
			continue
		}
		if base == "kustomization.yaml" {
			continue
		}
		if ext := filepath.Ext(base); ext != ".yaml" && ext != ".yml" {
			t.Errorf("%s: only manifests belong in %s", f, kubeDir)
			continue
		}
		onDisk[base] = true
	}
	listed := map[string]bool{}
	for _, res := range c.kust.Resources {
		if listed[res] {
			t.Errorf("kustomization.yaml lists %s twice", res)
		}
		listed[res] = true
		if !onDisk[res] {
			t.Errorf("kustomization.yaml lists %s, which is not a manifest file in %s", res, kubeDir)
		}
	}
	for f := range onDisk {
		if !listed[f] {
			t.Errorf("%s is in %s but not listed in kustomization.yaml's resources", f, kubeDir)
		}
	}
	if len(c.kust.Images) != 1 || c.kust.Images[0].Name != imageRepo {
		t.Errorf("kustomization.yaml images: want one entry named %s (where operators set their tag)", imageRepo)
	}
}

func TestKubernetesObjectsAreNamespaceAgnosticAndWellNamed(t *testing.T) {
	c := loadCluster(t)
	for _, o := range append(slices.Clone(c.objects), c.jobs...) {
		if ns := o.obj.GetNamespace(); ns != "" {
			t.Errorf("%s: names namespace %q; the manifests are applied into any namespace", o, ns)
		}
		name := o.obj.GetName()
		if name == "" && o.kind == "Job" {
			name = strings.TrimSuffix(o.obj.GetGenerateName(), "-")
		}
		if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
			t.Errorf("%s: name: %s", o, strings.Join(errs, "; "))
		}
		for k, v := range o.obj.GetLabels() {
			if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
				t.Errorf("%s: label %s=%s: %s", o, k, v, strings.Join(errs, "; "))
			}
		}
		if o.obj.GetLabels()["app.kubernetes.io/part-of"] != "steps" {
			t.Errorf("%s: no label app.kubernetes.io/part-of=steps", o)
		}
		var tmpl *corev1.PodTemplateSpec
		var sel *metav1.LabelSelector
		switch obj := o.obj.(type) {
		case *appsv1.Deployment:
			tmpl, sel = &obj.Spec.Template, obj.Spec.Selector
		case *appsv1.StatefulSet:
			tmpl, sel = &obj.Spec.Template, obj.Spec.Selector
		case *batchv1.Job:
			tmpl = &obj.Spec.Template
		case *corev1.Secret:
			for _, keys := range [][]string{sortedKeys(obj.StringData), sortedKeys(obj.Data)} {
				for _, k := range keys {
					if errs := validation.IsConfigMapKey(k); len(errs) > 0 {
						t.Errorf("%s: key %s: %s", o, k, strings.Join(errs, "; "))
					}
				}
			}
		}
		if tmpl == nil {
			continue
		}
		if sel != nil && !selects(t, o.String(), sel, tmpl.Labels) {
			t.Errorf("%s: selector does not match the pod template's labels", o)
		}
		for _, ct := range tmpl.Spec.Containers {
			if errs := validation.IsDNS1123Label(ct.Name); len(errs) > 0 {
				t.Errorf("%s: container name %s: %s", o, ct.Name, strings.Join(errs, "; "))
			}
			for _, p := range ct.Ports {
				if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
					t.Errorf("%s: port name %q: %s", o, p.Name, strings.Join(errs, "; "))
				}
			}
			if ct.Resources.Requests.Cpu().IsZero() || ct.Resources.Requests.Memory().IsZero() || ct.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: container %s: want cpu and memory requests and a memory limit", o, ct.Name)
			}
			for _, e := range ct.EnvFrom {
				if e.SecretRef != nil && c.secrets[e.SecretRef.Name] == nil {
					t.Errorf("%s: envFrom Secret %s is not in the kustomization", o, e.SecretRef.Name)
				}
			}
		}
	}
}

func TestKubernetesStepsdDeployment(t *testing.T) {
	facts := loadStepsd(t)
	c := loadCluster(t)
	d, ct := c.stepsd(t)
	spec := d.Spec.Template.Spec
	const where = "Deployment stepsd"

	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("%s: replicas: want 2 or more", where)
	}
	if repo, tag := splitImage(ct.Image); repo != imageRepo || tag == "" {
		t.Errorf("%s: image %q; want %s:TAG", where, ct.Image, imageRepo)
	}
	if len(ct.Command) > 0 {
		t.Errorf("%s: command %q replaces the image's stepsd entrypoint; use args", where, ct.Command)
	}
	if len(ct.Args) > 0 && ct.Args[0] != "serve" {
		t.Errorf("%s: args %q; want serve (or none)", where, ct.Args)
	}

	// The port: the container's, the --listen default's and STEPSD_LISTEN's
	// must agree.
	httpPort, ok := resolvePort(ct, intstr.FromString("http"))
	if !ok || httpPort != facts.listenPort {
		t.Errorf("%s: container port named http: got %d, want %d (the --listen default)", where, httpPort, facts.listenPort)
	}
	env := c.checkEnv(t, facts, where, ct)
	if e, ok := env["STEPSD_LISTEN"]; ok {
		if _, port, _ := strings.Cut(e.Value, ":"); port != strconv.Itoa(httpPort) {
			t.Errorf("%s: STEPSD_LISTEN %q does not listen on the container port %d", where, e.Value, httpPort)
		}
	}
	for _, name := range []string{"STEPSD_DB", "STEPSD_TOKENS"} {
		if _, ok := env[name]; !ok {
			t.Errorf("%s: %s is not set: stepsd would run on a SQLite file in its read-only image, or with an open API", where, name)
		}
	}

	// Probes: liveness never touches the database, readiness does.
	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startupProbe", ct.StartupProbe, "/healthz"},
		{"livenessProbe", ct.LivenessProbe, "/healthz"},
		{"readinessProbe", ct.ReadinessProbe, "/readyz"},
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: %s: want an httpGet probe of %s", where, p.name, p.path)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path || !facts.paths[g.Path] {
			t.Errorf("%s: %s path %q; want %s, a path of %s", where, p.name, g.Path, p.path, openAPIFile)
		}
		if port, ok := resolvePort(ct, g.Port); !ok || port != facts.listenPort {
			t.Errorf("%s: %s port %s is not stepsd's port %d", where, p.name, g.Port.String(), facts.listenPort)
		}
		if g.Scheme == corev1.URISchemeHTTPS {
			t.Errorf("%s: %s: HTTPS, but the manifests do not configure TLS", where, p.name)
		}
	}
	if sp := ct.StartupProbe; sp != nil {
		// Start-up waits up to 60 s for another replica's migration lock.
		if budget := sp.PeriodSeconds * sp.FailureThreshold; budget < 120 {
			t.Errorf("%s: startupProbe allows %d s; want at least 120 s for connecting and migrating", where, budget)
		}
	}

	// Shutdown: the grace period covers the preStop pause and
	// --shutdown-timeout, so requests in flight finish before SIGKILL.
	shutdown := 30 * time.Second
	if e, ok := env["STEPSD_SHUTDOWN_TIMEOUT"]; ok {
		var err error
		if shutdown, err = time.ParseDuration(e.Value); err != nil {
			t.Errorf("%s: STEPSD_SHUTDOWN_TIMEOUT %q: %v", where, e.Value, err)
		}
	}
	var preStop time.Duration
	if lc := ct.Lifecycle; lc != nil && lc.PreStop != nil {
		if lc.PreStop.Sleep == nil {
			t.Errorf("%s: preStop must be a sleep action: the image has no shell", where)
		} else {
			preStop = time.Duration(lc.PreStop.Sleep.Seconds) * time.Second
		}
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= preStop+shutdown {
		t.Errorf("%s: terminationGracePeriodSeconds must exceed preStop %s + shutdown timeout %s", where, preStop, shutdown)
	}

	checkHardened(t, where, spec, ct)
	for _, m := range ct.VolumeMounts {
		if m.ReadOnly {
			continue
		}
		if v := volume(spec, m.Name); v == nil || v.EmptyDir == nil {
			t.Errorf("%s: writable mount %s is not an emptyDir: stepsd keeps no state of its own", where, m.MountPath)
		}
	}

	req, lim := ct.Resources.Requests, ct.Resources.Limits
	if req.Cpu().IsZero() || req.Memory().IsZero() || lim.Cpu().IsZero() || lim.Memory().IsZero() {
		t.Errorf("%s: want cpu and memory requests and limits", where)
	}

	a := d.Spec.Template.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != strconv.Itoa(facts.listenPort) || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("%s: prometheus.io annotations: want scrape \"true\", port %q, path /metrics; got %v", where, strconv.Itoa(facts.listenPort), a)
	}
}

func volume(spec corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

func TestKubernetesStepsdService(t *testing.T) {
	facts := loadStepsd(t)
	c := loadCluster(t)
	d, ct := c.stepsd(t)
	s := c.services["stepsd"]
	if s == nil {
		t.Fatal("no Service named stepsd in the kustomization")
	}
	if !selects(t, "Service stepsd", &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, d.Spec.Template.Labels) {
		t.Errorf("Service stepsd: selector %v does not select the stepsd pods %v", s.Spec.Selector, d.Spec.Template.Labels)
	}
	if len(s.Spec.Ports) != 1 {
		t.Fatalf("Service stepsd: want one port, got %d", len(s.Spec.Ports))
	}
	p := s.Spec.Ports[0]
	if target, ok := resolvePort(ct, p.TargetPort); !ok || target != facts.listenPort {
		t.Errorf("Service stepsd: targetPort %s is not the container's port %d", p.TargetPort.String(), facts.listenPort)
	}
	if int(p.Port) != facts.listenPort {
		t.Errorf("Service stepsd: port %d; want %d, as in the docs (http://stepsd:%d)", p.Port, facts.listenPort, facts.listenPort)
	}
}

func TestKubernetesSecrets(t *testing.T) {
	c := loadCluster(t)
	s := c.secrets["stepsd"]
	if s == nil {
		t.Fatal("no Secret named stepsd in the kustomization")
	}
	for name, sec := range c.secrets {
		for _, k := range append(sortedKeys(sec.StringData), sortedKeys(sec.Data)...) {
			v, _ := secretValue(sec, k)
			if k == "MYSQL_DATABASE" || k == "MYSQL_USER" {
				continue // names, not secrets
			}
			// Real secrets do not belong in the repository: the examples are
			// marked so nobody mistakes them for working values.
			if !strings.Contains(v, "CHANGE-ME") {
				t.Errorf("Secret %s: %s is not marked CHANGE-ME; example values only in the repository", name, k)
			}
		}
	}
	tokens, _ := secretValue(s, "STEPSD_TOKENS")
	checkTokens(t, "Secret stepsd STEPSD_TOKENS", tokens)

	raw, _ := secretValue(s, "STEPSD_DB")
	dsn, err := url.Parse(raw)
	if err != nil || dsn.Scheme != "mysql" || dsn.Host == "" || strings.Trim(dsn.Path, "/") == "" {
		t.Fatalf("Secret stepsd: STEPSD_DB is not mysql://USER:PASS@HOST:PORT/DB")
	}

	// The bundled MySQL, when present: the DSN must reach it as the user it
	// creates.
	mysql := c.statefulSets["mysql"]
	if mysql == nil {
		t.Skip("no MySQL StatefulSet in the kustomization: STEPSD_DB points at an external database")
	}
	svc := c.services[dsn.Hostname()]
	if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone || svc.Name != mysql.Spec.ServiceName {
		t.Errorf("STEPSD_DB host %q is not the MySQL StatefulSet's headless Service %q", dsn.Hostname(), mysql.Spec.ServiceName)
	} else if port := dsn.Port(); port != "" && port != strconv.Itoa(int(svc.Spec.Ports[0].Port)) {
		t.Errorf("STEPSD_DB port %s is not Service %s's port %d", port, svc.Name, svc.Spec.Ports[0].Port)
	}
	ct := container(mysql.Spec.Template.Spec, "mysql")
	if ct == nil || len(ct.EnvFrom) != 1 || ct.EnvFrom[0].SecretRef == nil || c.secrets[ct.EnvFrom[0].SecretRef.Name] == nil {
		t.Fatalf("StatefulSet mysql: want a container mysql with envFrom one Secret of the kustomization")
	}
	ms := c.secrets[ct.EnvFrom[0].SecretRef.Name]
	pass, _ := dsn.User.Password()
	for key, want := range map[string]string{
		"MYSQL_USER":     dsn.User.Username(),
		"MYSQL_PASSWORD": pass,
		"MYSQL_DATABASE": strings.Trim(dsn.Path, "/"),
	} {
		if got, _ := secretValue(ms, key); got != want {
			t.Errorf("Secret %s %s does not match STEPSD_DB in Secret stepsd", ms.Name, key)
		}
	}
	if v, _ := secretValue(ms, "MYSQL_ROOT_PASSWORD"); v == "" {
		t.Errorf("Secret %s: no MYSQL_ROOT_PASSWORD; the mysql image needs one", ms.Name)
	}
}

func TestKubernetesAutoscalingAndDisruption(t *testing.T) {
	c := loadCluster(t)
	d, ct := c.stepsd(t)
	h := c.hpas["stepsd"]
	if h == nil {
		t.Fatal("no HorizontalPodAutoscaler named stepsd in the kustomization")
	}
	ref := h.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("HPA stepsd scales %s %s %s; want apps/v1 Deployment stepsd", ref.APIVersion, ref.Kind, ref.Name)
	}
	minReplicas := int32(1)
	if h.Spec.MinReplicas != nil {
		minReplicas = *h.Spec.MinReplicas
	}
	if minReplicas < 2 || h.Spec.MaxReplicas < minReplicas {
		t.Errorf("HPA stepsd: minReplicas %d, maxReplicas %d; want 2 ≤ min ≤ max", minReplicas, h.Spec.MaxReplicas)
	}
	if r := d.Spec.Replicas; r != nil && (*r < minReplicas || *r > h.Spec.MaxReplicas) {
		t.Errorf("Deployment stepsd replicas %d is outside the HPA's %d–%d", *r, minReplicas, h.Spec.MaxReplicas)
	}
	for _, m := range h.Spec.Metrics {
		if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil {
			t.Errorf("HPA stepsd: metric %s needs an adapter; use resource metrics", m.Type)
			continue
		}
		if _, ok := ct.Resources.Requests[m.Resource.Name]; !ok && m.Resource.Target.Type == autoscalingv2.UtilizationMetricType {
			t.Errorf("HPA stepsd: %s utilisation needs a %s request on the container", m.Resource.Name, m.Resource.Name)
		}
	}
	if len(h.Spec.Metrics) == 0 {
		t.Errorf("HPA stepsd: no metrics")
	}

	p := c.pdbs["stepsd"]
	if p == nil {
		t.Fatal("no PodDisruptionBudget named stepsd in the kustomization")
	}
	if !selects(t, "PDB stepsd", p.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("PDB stepsd does not select the stepsd pods")
	}
	// It must let a drain proceed with the fewest replicas the HPA keeps.
	switch {
	case p.Spec.MaxUnavailable != nil:
		if v, err := intstr.GetScaledValueFromIntOrPercent(p.Spec.MaxUnavailable, int(minReplicas), true); err != nil || v < 1 {
			t.Errorf("PDB stepsd: maxUnavailable %s blocks every eviction", p.Spec.MaxUnavailable.String())
		}
	case p.Spec.MinAvailable != nil:
		if v, err := intstr.GetScaledValueFromIntOrPercent(p.Spec.MinAvailable, int(minReplicas), true); err != nil || v >= int(minReplicas) {
			t.Errorf("PDB stepsd: minAvailable %s blocks every eviction at %d replicas", p.Spec.MinAvailable.String(), minReplicas)
		}
	default:
		t.Errorf("PDB stepsd: neither maxUnavailable nor minAvailable")
	}
}

func TestKubernetesMySQL(t *testing.T) {
	c := loadCluster(t)
	s := c.statefulSets["mysql"]
	if s == nil {
		t.Skip("no MySQL StatefulSet: STEPSD_DB points at an external database")
	}
	svc := c.services[s.Spec.ServiceName]
	if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("StatefulSet mysql: serviceName %q is not a headless Service of the kustomization", s.Spec.ServiceName)
	}
	if !selects(t, "Service "+svc.Name, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, s.Spec.Template.Labels) {
		t.Errorf("Service %s does not select the MySQL pods", svc.Name)
	}
	ct := container(s.Spec.Template.Spec, "mysql")
	if ct == nil {
		t.Fatal("StatefulSet mysql: no container named mysql")
	}
	if repo, tag := splitImage(ct.Image); repo != "mysql" || !strings.HasPrefix(tag, "8") {
		t.Errorf("StatefulSet mysql: image %q; want mysql:8.x", ct.Image)
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service %s: want one port", svc.Name)
	}
	if target, ok := resolvePort(ct, svc.Spec.Ports[0].TargetPort); !ok || target != 3306 {
		t.Errorf("Service %s: targetPort is not MySQL's 3306", svc.Name)
	}
	if len(s.Spec.VolumeClaimTemplates) == 0 {
		t.Fatal("StatefulSet mysql: no volumeClaimTemplates: the data would die with the pod")
	}
	for _, vct := range s.Spec.VolumeClaimTemplates {
		if vct.Spec.Resources.Requests.Storage().IsZero() {
			t.Errorf("StatefulSet mysql: claim %s requests no storage", vct.Name)
		}
		mounted := false
		for _, m := range ct.VolumeMounts {
			mounted = mounted || (m.Name == vct.Name && m.MountPath == "/var/lib/mysql")
		}
		if !mounted {
			t.Errorf("StatefulSet mysql: claim %s is not mounted at /var/lib/mysql", vct.Name)
		}
	}
	if ct.ReadinessProbe == nil || ct.LivenessProbe == nil {
		t.Errorf("StatefulSet mysql: want readiness and liveness probes")
	}
	spec := s.Spec.Template.Spec
	if spec.SecurityContext == nil || !isTrue(spec.SecurityContext.RunAsNonRoot) {
		t.Errorf("StatefulSet mysql: runAsNonRoot is not true")
	}
	if sc := ct.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("StatefulSet mysql: allowPrivilegeEscalation is not false")
	}
}

// The bundled MySQL takes as many connections as the HPA's replicas may
// open at most, with room for a migrate Job and an operator's client:
// past max_connections a replica's requests fail with "Too many
// connections" just as the load that scaled it up arrives.
func TestKubernetesMySQLTakesEveryReplicasConnections(t *testing.T) {
	c := loadCluster(t)
	s := c.statefulSets["mysql"]
	h := c.hpas["stepsd"]
	if s == nil || h == nil {
		t.Skip("no bundled MySQL, or no HPA")
	}
	src, err := os.ReadFile(storeFile)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const maxMySQLConns = (\d+)`).FindSubmatch(src)
	if m == nil {
		t.Fatalf("%s: no const maxMySQLConns", storeFile)
	}
	perReplica, _ := strconv.Atoi(string(m[1]))
	ct := container(s.Spec.Template.Spec, "mysql")
	if ct == nil {
		t.Fatal("StatefulSet mysql: no container named mysql")
	}
	maxConns := 151 // MySQL 8's default
	for _, a := range append(slices.Clone(ct.Command), ct.Args...) {
		if v, ok := strings.CutPrefix(strings.ReplaceAll(a, "_", "-"), "--max-connections="); ok {
			if maxConns, err = strconv.Atoi(v); err != nil {
				t.Fatalf("StatefulSet mysql: %s: %v", a, err)
			}
		}
	}
	const spare = 10
	if need := int(h.Spec.MaxReplicas)*perReplica + spare; maxConns < need {
		t.Errorf("MySQL max_connections %d < %d: the HPA's %d replicas × %d connections each (maxMySQLConns) + %d spare; raise --max-connections or lower maxReplicas",
			maxConns, need, h.Spec.MaxReplicas, perReplica, spare)
	}
}

func TestKubernetesMigrateJob(t *testing.T) {
	facts := loadStepsd(t)
	c := loadCluster(t)
	if len(c.jobs) == 0 {
		t.Skip("no Jobs in " + jobsDir)
	}
	_, stepsd := c.stepsd(t)
	for _, o := range c.jobs {
		j, ok := o.obj.(*batchv1.Job)
		if !ok {
			t.Errorf("%s: only Jobs belong in %s", o, jobsDir)
			continue
		}
		if j.Name != "" || j.GenerateName == "" {
			t.Errorf("%s: use generateName, so that kubectl create makes a new Job each time", o)
		}
		spec := j.Spec.Template.Spec
		if spec.RestartPolicy != corev1.RestartPolicyNever && spec.RestartPolicy != corev1.RestartPolicyOnFailure {
			t.Errorf("%s: restartPolicy %q; a Job needs Never or OnFailure", o, spec.RestartPolicy)
		}
		if len(spec.Containers) != 1 {
			t.Fatalf("%s: want one container", o)
		}
		ct := &spec.Containers[0]
		if repo, _ := splitImage(ct.Image); repo != imageRepo {
			t.Errorf("%s: image %q is not %s", o, ct.Image, imageRepo)
		}
		if len(ct.Command) > 0 || !slices.Equal(ct.Args, []string{"migrate"}) {
			t.Errorf("%s: want args [migrate] and the image's entrypoint", o)
		}
		env := c.checkEnv(t, facts, o.String(), ct)
		if got, want := env["STEPSD_DB"], findEnv(stepsd, "STEPSD_DB"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: STEPSD_DB %+v is not the Deployment's %+v", o, got, want)
		}
		checkHardened(t, o.String(), spec, ct)
	}
}

func findEnv(ct *corev1.Container, name string) corev1.EnvVar {
	for _, e := range ct.Env {
		if e.Name == name {
			return e
		}
	}
	return corev1.EnvVar{}
}
