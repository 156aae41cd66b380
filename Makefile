# The course package's commands. Each target sets up what it needs (a virtual environment in .venv
# with the pinned requirements) on first use, so `make demo` and `make test` work on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
DATA   ?= real
MODELS ?= mlp cnn binary optimized
ABLATION_ARGS ?=

# nbgrader starts helpers (alembic, the Jupyter kernel) by name: the environment's come first.
export PATH := $(BIN):$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup demo test release lab grade attacks benchmark speed memory ablation quote clean-grading

$(VENV)/.installed: requirements.txt source/cifar10_keras/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

setup: $(VENV)/.installed   ## create .venv with the pinned requirements

demo: setup                 ## the instructor's pipeline on a demo class (DATA=real or synthetic)
	$(BIN)/python -m demo --data $(DATA)

test: setup                 ## unit and end-to-end tests (offline, synthetic data)
	$(BIN)/python -m pytest -q

release: setup              ## regenerate release/ from source/ (then commit it)
	$(BIN)/nbgrader generate_assignment cifar10_keras --force

grade: setup                ## grade every submission under submitted/ (parallel, sandboxed)
	$(BIN)/python -m grader.grade

attacks: setup              ## the tamper and fault suite, graded in a scratch course
	$(BIN)/python -m demo.attacks --out results/attacks.md

lab: setup                  ## JupyterLab with the nbgrader extensions, in this course directory
	$(BIN)/jupyter lab

benchmark: setup            ## train the assignment's models on real CIFAR-10 (hours on a CPU)
	$(BIN)/python -m lab.benchmark --models $(MODELS)

speed: setup                ## plain model.fit against the tuned input pipeline, side by side
	$(BIN)/python -m lab.speed

memory: setup               ## a student's kernel and Validate on real CIFAR-10: do they fit in 2 GiB?
	$(BIN)/python -m lab.memory

ablation: setup             ## what each ingredient of the optimised model buys (long on a CPU)
	$(BIN)/python -m lab.ablation $(ABLATION_ARGS)

quote: setup                ## fill the figures README, docs/ and the notebook quote from results/
	$(BIN)/python -m lab.quote

clean-grading:              ## forget the demo class: gradebook, submissions, grades, feedback
	rm -rf gradebook.db submitted autograded/*/ feedback grades.csv grading_status.json grading_logs reports
