#!/usr/bin/env python3
"""Checks the deployment assets offline, with each format's own parser or validator.

- deploy/Dockerfile: parses; multi-stage; the runtime stage runs as a non-root user, has a
  HEALTHCHECK, and every base image is pinned to a tag (never `latest`).
- deploy/docker-compose.yml: `docker compose config` (or docker-compose) accepts it.
- deploy/prometheus.yml and deploy/alerts.yml: `promtool check config` accepts them (the
  rules file through the config), and `promtool test rules` runs the alerts' unit tests.
- deploy/k8s/*.yaml: every manifest validates against the Kubernetes schemas (strict: no
  unknown fields); every resource kustomization.yaml lists exists.

Needs: docker compose or docker-compose, promtool (Debian: prometheus),
kubernetes-validate and dockerfile-parse (PyPI). Exits non-zero on the first failure.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def fail(message):
    print(f"FAIL {message}", file=sys.stderr)
    sys.exit(1)


def run(what, command, env=None):
    result = subprocess.run(command, cwd=DEPLOY, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{what}: {' '.join(command)}\n{result.stdout}{result.stderr}")
    print(f"ok   {what}")


def check_dockerfile():
    parser = DockerfileParser(str(DEPLOY / "Dockerfile"))
    stages, user, healthcheck = [], None, False
    for instruction in parser.structure:
        name, value = instruction["instruction"], instruction["value"].strip()
        if name == "FROM":
            stages.append(value.split()[0])
            user, healthcheck = None, False
        elif name == "USER":
            user = value
        elif name == "HEALTHCHECK":
            healthcheck = True
    if len(stages) < 2:
        fail("Dockerfile: expected a build stage and a runtime stage")
    for image in stages:
        if ":" not in image or image.endswith(":latest"):
            fail(f"Dockerfile: base image {image} is not pinned to a tag")
    if user is None or user.split(":")[0] in ("root", "0"):
        fail(f"Dockerfile: the runtime stage runs as {user or 'root'}")
    if not healthcheck:
        fail("Dockerfile: the runtime stage has no HEALTHCHECK")
    print("ok   Dockerfile")


def compose_command():
    if shutil.which("docker") and subprocess.run(
        ["docker", "compose", "version"], capture_output=True
    ).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    fail("neither `docker compose` nor docker-compose is installed")


def check_kubernetes():
    k8s = DEPLOY / "k8s"
    kustomization = yaml.safe_load((k8s / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        if not (k8s / resource).is_file():
            fail(f"kustomization.yaml lists {resource}, which does not exist")
    manifests = sorted(str(p) for p in k8s.glob("*.yaml") if p.name != "kustomization.yaml")
    run("Kubernetes manifests", ["kubernetes-validate", "--strict", "--quiet", *manifests])


def main():
    check_dockerfile()
    env = dict(os.environ, GATEHOUSE_MASTER_KEY="b25seS1mb3ItY2hlY2tpbmctdGhlLWNvbXBvc2UtZmk=")
    run("docker-compose.yml", [*compose_command(), "-f", "docker-compose.yml", "config", "-q"], env)
    run("prometheus.yml, alerts.yml", ["promtool", "check", "config", "prometheus.yml"])
    run("alert tests", ["promtool", "test", "rules", "alerts_test.yml"])
    check_kubernetes()


if __name__ == "__main__":
    main()
