# ferry: build, deps, demo, test, bench.  See README.md.
CC      ?= gcc
SAN     ?=
BUILD   ?= build
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter -Wno-format-truncation -Ilib -I. -MMD -MP
LDLIBS  += -ljson-c -lmnl -lxxhash -lssl -lcrypto -lm -lcurl -lyaml -lmicrohttpd -lpthread

ifeq ($(SAN),1)
BUILD   := build/san
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(wildcard lib/*/*.c)
CMD_SRC  := $(wildcard cmd/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps images demo test unit integration test-softdirty bench clean workloads fuzz fuzz-smoke faults \
        cluster-up cluster-down cluster-smoke k8s-controller-test e2e e2e-matrix

all: $(BUILD)/ferry $(BUILD)/kubectl-migrate workloads

# the kubectl plugin is the same binary (argv[0] dispatch in cmd/main.c)
$(BUILD)/kubectl-migrate: $(BUILD)/ferry
	ln -sf ferry $@

$(BUILD)/libferry.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/ferry: $(CMD_OBJ) $(BUILD)/libferry.a
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libferry.a $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libferry.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libferry.a $(LDLIBS) -lcmocka

workloads:
	$(MAKE) -C workloads

deps:
	scripts/deps.sh

images: all
	scripts/build-images.sh

demo: deps all images
	scripts/demo.sh

# processes the unit tests drive (static: they run natively under valgrind)
UNIT_HELPERS := $(BUILD)/tests/dirty_child
$(BUILD)/tests/%: tests/unit/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o $@ $<

unit: $(UNIT_BIN) $(UNIT_HELPERS)
	scripts/run-unit.sh $(UNIT_BIN)

integration: all images
	scripts/run-integration.sh

# the dirty-tracking unit test on Debian's kernel (soft-dirty) in a VM
test-softdirty: $(BUILD)/tests/test_dirty $(UNIT_HELPERS)
	scripts/softdirty-vm.sh

test: deps all images
	scripts/test.sh

# a real Kubernetes test cluster on this machine (docs/k8s-cluster.md)
K8S_VERSION ?= 1.30.14
cluster-up:
	scripts/k8s/cluster-up.sh $(K8S_VERSION)

cluster-down:
	scripts/k8s/cluster-down.sh

cluster-smoke:
	scripts/k8s/smoke.sh

# the controller against a real etcd + kube-apiserver (no kubelets, no
# cluster-up): scripts/k8s/apiserver-only.sh, tests/k8s/controller.bats
# (K8S_VERSION=1.26.9 for the older API server)
k8s-controller-test: deps $(BUILD)/ferry $(BUILD)/kubectl-migrate
	scripts/k8s/build.sh $(K8S_VERSION)
	K8S_VERSION=$(K8S_VERSION) bats tests/k8s/controller.bats

# ferry on the test cluster (docs/k8s-node.md): cluster up, ferry installed, tests/e2e/*.bats,
# cluster down. `make e2e K8S_VERSION=1.26.9`; `make e2e-matrix` runs both supported releases.
e2e: all
	scripts/k8s/e2e.sh $(K8S_VERSION)

e2e-matrix: all
	scripts/k8s/e2e.sh 1.30.14
	scripts/k8s/e2e.sh 1.26.9

faults: deps all images
	scripts/faults.sh

bench: deps all images $(BUILD)/bench/streamcost
	bench/run.sh

# what TLS costs the image stream, on the sandbox fabric (bench/run.sh runs it)
$(BUILD)/bench/streamcost: bench/streamcost.c $(BUILD)/libferry.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libferry.a $(LDLIBS)

# fuzz targets (libFuzzer, clang): `make fuzz` runs each for FUZZ_SECONDS (default
# 60); `make fuzz-smoke` (part of `make test`) runs each briefly
fuzz:
	$(MAKE) -C tests/fuzz run FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

fuzz-smoke:
	$(MAKE) -C tests/fuzz run FUZZ_SECONDS=10

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)
