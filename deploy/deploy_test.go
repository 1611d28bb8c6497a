// Package deploy_test checks the container and service files that ship with
// newsbot: the Dockerfile, compose.yaml and the systemd unit.
package deploy_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// dockerfile is a parsed Dockerfile: its instructions in order, continuation
// lines joined.
type instruction struct{ Cmd, Args string }

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
	}
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return out
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, "../Dockerfile")
	var stages, froms []string
	final := 0
	for i, in := range ins {
		if in.Cmd == "FROM" {
			froms = append(froms, in.Args)
			stages = append(stages, in.Args)
			final = i
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got FROM %q", froms)
	}
	var user, healthcheck, entrypoint, volume, build string
	for _, in := range ins[final:] {
		switch in.Cmd {
		case "USER":
			user = in.Args
		case "HEALTHCHECK":
			healthcheck = in.Args
		case "ENTRYPOINT":
			entrypoint = in.Args
		case "VOLUME":
			volume = in.Args
		}
	}
	for _, in := range ins[:final] {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			build = in.Args
		}
	}
	if !strings.Contains(build, "CGO_ENABLED=0") || !strings.Contains(build, "./cmd/newsbot") {
		t.Errorf("the binary must be built static from ./cmd/newsbot: %q", build)
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("final stage must run as a non-root user, got USER %q", user)
	}
	if !strings.Contains(healthcheck, "newsbot") || !strings.Contains(healthcheck, "health") {
		t.Errorf("HEALTHCHECK must run newsbot health, got %q", healthcheck)
	}
	if !strings.Contains(volume, "/data") {
		t.Errorf("the database must live on a volume, got VOLUME %q", volume)
	}
	if !strings.Contains(entrypoint, "newsbot") {
		t.Errorf("ENTRYPOINT %q", entrypoint)
	}
	env := ""
	for _, in := range ins[final:] {
		if in.Cmd == "ENV" {
			env += in.Args + " "
		}
	}
	if !strings.Contains(env, "DATABASE_URL=/data/") || !strings.Contains(env, "HTTP_ADDR=") {
		t.Errorf("ENV must put the database on the volume and serve /healthz: %q", env)
	}
}

func TestCompose(t *testing.T) {
	raw, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Build       any               `yaml:"build"`
			EnvFile     any               `yaml:"env_file"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			User        string            `yaml:"user"`
			ReadOnly    bool              `yaml:"read_only"`
			Restart     string            `yaml:"restart"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	svc, ok := doc.Services["newsbot"]
	if !ok {
		t.Fatal("no newsbot service")
	}
	if svc.User == "" || svc.User == "0" || strings.HasPrefix(svc.User, "root") {
		t.Errorf("user %q: must not be root", svc.User)
	}
	if !strings.Contains(strings.Join(svc.Healthcheck.Test, " "), "newsbot health") {
		t.Errorf("healthcheck %q", svc.Healthcheck.Test)
	}
	if !strings.HasPrefix(svc.Environment["DATABASE_URL"], "/data/") {
		t.Errorf("DATABASE_URL %q must be on the volume", svc.Environment["DATABASE_URL"])
	}
	vol := false
	for _, v := range svc.Volumes {
		if strings.HasSuffix(v, ":/data") {
			vol = true
		}
	}
	if !vol {
		t.Errorf("volumes %q: /data must be a volume", svc.Volumes)
	}
	if svc.Restart == "" || svc.EnvFile == nil {
		t.Errorf("restart %q env_file %v", svc.Restart, svc.EnvFile)
	}
}

// The PostgreSQL example: a PostgreSQL service with a health check and two
// newsbot replicas on it, each with its own /healthz port, neither root.
func TestComposePostgres(t *testing.T) {
	raw, err := os.ReadFile("compose.postgres.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
			User        string            `yaml:"user"`
			DependsOn   map[string]any    `yaml:"depends_on"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("compose.postgres.yaml: %v", err)
	}
	pg, ok := doc.Services["postgres"]
	if !ok || !strings.HasPrefix(pg.Image, "postgres:") || len(pg.Healthcheck.Test) == 0 {
		t.Fatalf("postgres service: %+v", pg)
	}
	replicas, ports := 0, map[string]bool{}
	for name, svc := range doc.Services {
		if !strings.HasPrefix(name, "newsbot") {
			continue
		}
		replicas++
		if u := svc.Environment["DATABASE_URL"]; !strings.HasPrefix(u, "postgres://") || !strings.Contains(u, "@postgres:") {
			t.Errorf("%s: DATABASE_URL %q must name the postgres service", name, u)
		}
		if svc.User == "" || svc.User == "0" || strings.HasPrefix(svc.User, "root") {
			t.Errorf("%s: user %q must not be root", name, svc.User)
		}
		if _, ok := svc.DependsOn["postgres"]; !ok {
			t.Errorf("%s does not wait for postgres", name)
		}
		if !strings.Contains(strings.Join(svc.Healthcheck.Test, " "), "newsbot health") {
			t.Errorf("%s: healthcheck %q", name, svc.Healthcheck.Test)
		}
		for _, p := range svc.Ports {
			host, _, _ := strings.Cut(strings.TrimPrefix(p, "127.0.0.1:"), ":")
			if ports[host] {
				t.Errorf("%s: host port %s used twice", name, host)
			}
			ports[host] = true
		}
	}
	if replicas != 2 {
		t.Errorf("%d newsbot replicas, want 2", replicas)
	}
}

// unit is a parsed systemd unit: section -> key -> values.
func parseUnit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	section := ""
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			out[section] = map[string][]string{}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("%s: bad line %q", path, line)
		}
		out[section][strings.TrimSpace(k)] = append(out[section][strings.TrimSpace(k)], strings.TrimSpace(v))
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	u := parseUnit(t, "newsbot.service")
	svc := u["Service"]
	if got := svc["ExecStart"]; len(got) != 1 || !strings.HasSuffix(strings.Fields(got[0])[0], "/newsbot") {
		t.Errorf("ExecStart %q", got)
	}
	if len(svc["User"]) == 0 && (len(svc["DynamicUser"]) == 0 || svc["DynamicUser"][0] != "yes") {
		t.Error("the service must not run as root (User= or DynamicUser=yes)")
	}
	for _, k := range []string{"NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
		"RestrictAddressFamilies", "SystemCallFilter", "CapabilityBoundingSet", "StateDirectory"} {
		if len(svc[k]) == 0 {
			t.Errorf("sandboxing option %s missing", k)
		}
	}
	if svc["ProtectSystem"][0] != "strict" {
		t.Errorf("ProtectSystem=%s, want strict", svc["ProtectSystem"][0])
	}
	if !strings.Contains(strings.Join(svc["Environment"], " "), "DATABASE_URL=/var/lib/newsbot/") {
		t.Errorf("the database must live in the StateDirectory: %q", svc["Environment"])
	}
	if len(u["Install"]["WantedBy"]) == 0 {
		t.Error("no [Install] WantedBy")
	}
}

// TestSystemdAnalyzeVerify runs systemd-analyze verify on a copy of the unit
// whose ExecStart points at a freshly built binary, where systemd-analyze exists.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: unit verified by parsing only")
	}
	if testing.Short() {
		t.Skip("-short: skipping the build for systemd-analyze verify")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "newsbot")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../cmd/newsbot").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	raw, err := os.ReadFile("newsbot.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.Replace(string(raw), "ExecStart=/usr/local/bin/newsbot", "ExecStart="+bin, 1)
	// EnvironmentFile must exist for verify; point it at an empty file.
	envFile := filepath.Join(dir, "newsbot.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	unit = strings.Replace(unit, "EnvironmentFile=/etc/newsbot/newsbot.env", "EnvironmentFile="+envFile, 1)
	path := filepath.Join(dir, "newsbot.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, sa, "verify", path).CombinedOutput()
	text := string(out)
	if err != nil {
		// Without a running systemd (containers) verify cannot load its manager.
		if strings.Contains(text, "Failed to initialize manager") || strings.Contains(text, "System has not been booted with systemd") ||
			strings.Contains(text, "Failed to connect to bus") {
			t.Skipf("systemd-analyze cannot run here: %s", strings.TrimSpace(text))
		}
		t.Fatalf("systemd-analyze verify: %v\n%s", err, text)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "newsbot.service") && (strings.Contains(line, "Unknown") || strings.Contains(line, "Invalid")) {
			t.Errorf("systemd-analyze: %s", line)
		}
	}
}

// TestDockerBuild builds the image where a Docker engine answers.
func TestDockerBuild(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker not installed")
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no Docker engine (docker info failed): Dockerfile verified by parsing only")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "build", "-t", "newsbot:test", "..").CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "pull access denied") || strings.Contains(string(out), "failed to resolve source metadata") {
			t.Skipf("base images cannot be had here: %s", strings.TrimSpace(string(out)))
		}
		t.Fatalf("docker build: %v\n%s", err, out)
	}
}
