# The lab cluster, one target per user action (README.md, 'On a cluster' walks through the day):
#   make cluster-up                      start or update the cluster in $(CLUSTER) (token made once)
#   make cluster-firewall                cloud only: the firewall and worker identity (cluster-up runs it; DRY_RUN=1 prints)
#   make ray-dashboard                   tunnel the head's dashboard + job API to 127.0.0.1:8265; leave it running
#   make submit ARGS="--max-trials 200 --time-budget 8h --data /shared/eeg/deap --dataset deap"
#   make status                          the cluster's nodes and resources, and the last job's state
#   make logs                            the last job's output (FOLLOW=1 to keep following)
#   make results                         fetch the run's outputs from shared storage into models/
#   make cluster-down                    stop Ray on the cluster
# The Makefile includes this file; alone it runs as `make -f cluster/cluster.mk TARGET`.
# Every variable below can be overridden on the command line, e.g. CLUSTER=cluster/aws.yaml.

# The cluster's `ray up` YAML.
CLUSTER ?= cluster/lab.yaml
# This machine's project environment.
PYTHON ?= .venv/bin/python
RAY ?= .venv/bin/ray
# The dashboard's port on the head, the port `make ray-dashboard` forwards it to here, and
# the job API as this machine then sees it.
REMOTE_DASHBOARD_PORT ?= 8265
DASHBOARD_PORT ?= 8265
RAY_API_SERVER_ADDRESS ?= http://127.0.0.1:$(DASHBOARD_PORT)
# The cluster's token: made once by cluster-up, shipped to every node by the YAML's file_mounts.
TOKEN ?= cluster/.secrets/auth_token
# The driver's package versions (and Python), pinned on every node.
CONSTRAINTS ?= cluster/constraints.txt
# The experiment: its name, Ray's experiment storage and the CLI's --output-dir, as the
# head sees them. Same NAME and STORAGE later resume it (ARGS="--resume").
NAME ?= eeg-overnight
ifeq ($(notdir $(CLUSTER)),aws.yaml)
STORAGE ?= s3://BUCKET/eeg-tuning
OUTPUT_DIR ?= /home/ubuntu/eeg-tuning-outputs
else ifeq ($(notdir $(CLUSTER)),gcp.yaml)
STORAGE ?= gs://BUCKET/eeg-tuning
OUTPUT_DIR ?= /home/ubuntu/eeg-tuning-outputs
else
STORAGE ?= NFS_PATH/eeg-tuning/ray_results
OUTPUT_DIR ?= NFS_PATH/eeg-tuning/models
endif
# Cloud firewalls (cluster/firewall.py): the range you SSH from (e.g. 203.0.113.0/24), the
# AWS VPC of the cluster's security group, the GCP network of its firewall rules.
ADMIN_CIDR ?= ADMIN_CIDR
VPC_ID ?= VPC_ID
NETWORK_NAME ?= NETWORK_NAME
# DRY_RUN=1: cluster-firewall prints the cloud commands and runs none.
DRY_RUN ?= 0
# Where `make results` puts things on this machine.
RESULTS_DIR ?= models
# Flags for `tune_cluster.py tune` (beyond --address/--storage/--name/--output-dir).
ARGS ?=
# The script the job runs, and the head's interpreter (empty: the project's venv there).
ENTRY ?= tune_cluster.py
NODE_PYTHON ?=
# Ray on the nodes (for `ray status` on the head).
NODE_RAY ?= ~/eeg-tuning/.venv/bin/ray
# WAIT=1: submit follows the job to its end; FOLLOW=1: logs keeps following.
WAIT ?= 0
FOLLOW ?= 0
# The last submission id, for status and logs (JOB=... picks another).
LAST_JOB ?= $(HOME)/.cache/eeg-tuning/last-job
JOB ?= $(shell cat $(LAST_JOB) 2>/dev/null)
# Site values a YAML must not still contain when it goes to `ray up`.
CLUSTER_PLACEHOLDERS := HEAD_IP|WORKER_IP_[0-9]+|SSH_USER|SSH_KEY_PATH|NFS_PATH|BUCKET|REGION|AVAILABILITY_ZONES|ZONE|PROJECT_ID|AMI_ID|KEY_PAIR_NAME|INSTANCE_PROFILE_ARN|SECURITY_GROUP_ID|IMAGE_URI|SUBNET_NAME
# Token auth for every ray command that talks to the job API from this machine.
CLUSTER_AUTH_ENV = env -u RAY_AUTH_TOKEN RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$(abspath $(TOKEN))"

# The firewall helper with its settings (it reads the ports and names from the YAML).
FIREWALL = ADMIN_CIDR='$(ADMIN_CIDR)' STORAGE='$(STORAGE)' VPC_ID='$(VPC_ID)' NETWORK_NAME='$(NETWORK_NAME)' \
	$(PYTHON) cluster/firewall.py $(CLUSTER)

.PHONY: cluster-up cluster-firewall ray-dashboard submit status logs results cluster-down cluster-constraints

# 256 random bits (what `ray get-auth-token --generate` makes), mode 600, made once.
$(TOKEN):
	@mkdir -p $(dir $@) && chmod 700 $(dir $@)
	@umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_hex(32), end='')" > $@.tmp && mv $@.tmp $@
	@echo "made the cluster token $@ (mode 600; never commit or share it)"

# The driver's Python version and exact packages, installed on every node by setup_commands.
cluster-constraints:
	@$(PYTHON) -c "import sys; print('# python %d.%d' % sys.version_info[:2])" > $(CONSTRAINTS).tmp
	@$(PYTHON) -m pip freeze --exclude-editable | grep -v ' @ ' >> $(CONSTRAINTS).tmp
	@v=$$(sed -n 's/^tensorflow[-_]cpu==//p' $(CONSTRAINTS).tmp); \
	if [ -n "$$v" ] && ! grep -q '^tensorflow==' $(CONSTRAINTS).tmp; then echo "tensorflow==$$v" >> $(CONSTRAINTS).tmp; fi
	@mv $(CONSTRAINTS).tmp $(CONSTRAINTS)

# Start (or update) the cluster: token, pinned versions, the cloud firewall, then `ray up`.
cluster-up: $(TOKEN) cluster-constraints
	@if grep -nE '^[^#]*\b($(CLUSTER_PLACEHOLDERS))\b' $(CLUSTER); then \
	  echo "error: cluster-up: $(CLUSTER) still has the placeholders above: replace them (README.md, 'On a cluster')" >&2; exit 2; fi
	@$(FIREWALL)
	$(RAY) up -y --disable-usage-stats $(CLUSTER)

# AWS: the cluster's security group; GCP: its firewall rules and the workers' service
# account. Only Ray's pinned ports between nodes, SSH from ADMIN_CIDR (nothing on the lab).
cluster-firewall:
	@$(FIREWALL) $(if $(filter 1,$(DRY_RUN)),--dry-run)

# Forward the head's 127.0.0.1:8265 here over SSH (`ray dashboard`); the browser asks for the token once.
ray-dashboard:
	@echo "dashboard and job API: http://127.0.0.1:$(DASHBOARD_PORT) (Ctrl-C stops the tunnel); token: $(abspath $(TOKEN))"
	$(RAY) dashboard --port $(DASHBOARD_PORT) --remote-port $(REMOTE_DASHBOARD_PORT) $(CLUSTER)

# Start a tuning run on the cluster (needs `make ray-dashboard` running).
submit:
	@RAY='$(RAY)' RAY_API_SERVER_ADDRESS='$(RAY_API_SERVER_ADDRESS)' TOKEN='$(TOKEN)' NAME='$(NAME)' \
	STORAGE='$(STORAGE)' OUTPUT_DIR='$(OUTPUT_DIR)' ENTRY='$(ENTRY)' NODE_PYTHON='$(NODE_PYTHON)' \
	WAIT='$(WAIT)' LAST_JOB='$(LAST_JOB)' $(PYTHON) cluster/submit.py $(ARGS)

# Nodes, resources and pending demand (on the head, over SSH), then the last job's state.
status:
	$(RAY) exec $(CLUSTER) '[ ! -f ~/.eeg-ray-node.env ] || . ~/.eeg-ray-node.env; RAY_AUTH_MODE=token $(NODE_RAY) status'
	@if [ -n "$(JOB)" ]; then $(CLUSTER_AUTH_ENV) $(RAY) job status --address $(RAY_API_SERVER_ADDRESS) $(JOB); fi

# The last job's driver output (the tuner's progress table).
logs:
	@test -n "$(JOB)" || { echo "error: logs: no job yet: run 'make submit' first or pass JOB=<submission id>" >&2; exit 2; }
	$(CLUSTER_AUTH_ENV) $(RAY) job logs --address $(RAY_API_SERVER_ADDRESS) $(if $(filter 1,$(FOLLOW)),--follow) $(JOB)

# Fetch Ray's experiment and the CLI's outputs (best_hyperparameters.json, trials table, plots)
# into $(RESULTS_DIR). From S3/GCS straight from the bucket (the run copies its outputs there at
# the end), so it works after `make cluster-down`; from the lab's NFS path through the head.
results:
	@case '$(STORAGE)' in \
	  *NFS_PATH*|*BUCKET*) echo "error: results: STORAGE is still the placeholder '$(STORAGE)' (README.md, 'On a cluster')" >&2; exit 2 ;; \
	  s3://*|gs://*) set -x; $(PYTHON) cluster/fetch_results.py '$(STORAGE)' '$(NAME)' '$(RESULTS_DIR)' ;; \
	  *) mkdir -p '$(RESULTS_DIR)/tuning/$(NAME)/ray_results' && set -x && \
	     $(RAY) rsync-down $(CLUSTER) '$(STORAGE)/$(NAME)/' '$(RESULTS_DIR)/tuning/$(NAME)/ray_results/' && \
	     $(RAY) rsync-down $(CLUSTER) '$(OUTPUT_DIR)/' '$(RESULTS_DIR)/' ;; \
	esac

# Stop Ray on the cluster (lab machines stay on; cloud instances are terminated).
cluster-down:
	$(RAY) down -y $(CLUSTER)
