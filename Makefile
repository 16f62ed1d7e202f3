# Parley — the two commands: `make run` and `make test`.
# Both install missing Debian packages first (scripts/install-deps.sh is idempotent).

JOBS      ?= $(shell nproc)
DATA      ?= ./data
BUILD_REL := build/release
BUILD_SAN := build/asan
BUILD_FUZZ := build/fuzz
# `make fuzz` runs each libFuzzer target this long; `make test` runs each CI_FUZZ_SECONDS.
FUZZ_SECONDS    ?= 60
CI_FUZZ_SECONDS ?= 5
CMAKE_GEN := -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: all deps build build-asan build-fuzz run test test-release test-asan test-fuzz fuzz bench format format-check clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_REL)/build.ninja:
	cmake -S . -B $(BUILD_REL) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release

$(BUILD_SAN)/build.ninja:
	cmake -S . -B $(BUILD_SAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_SANITIZE=ON

$(BUILD_FUZZ)/build.ninja:
	cmake -S . -B $(BUILD_FUZZ) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_FUZZ=ON \
	  -DCMAKE_CXX_COMPILER=clang++

build: deps $(BUILD_REL)/build.ninja
	cmake --build $(BUILD_REL) -j $(JOBS)

build-asan: deps $(BUILD_SAN)/build.ninja
	cmake --build $(BUILD_SAN) -j $(JOBS)

# The libFuzzer targets of fuzz/ (clang, ASan + UBSan, coverage-instrumented libraries).
build-fuzz: deps $(BUILD_FUZZ)/build.ninja
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzzers

# `make fuzz FUZZ_SECONDS=N`: every target for N seconds (fuzz/README.md).
fuzz: build-fuzz
	./scripts/fuzz.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

test-fuzz: build-fuzz
	./scripts/fuzz.sh $(BUILD_FUZZ) $(CI_FUZZ_SECONDS)

LISTEN    ?= 127.0.0.1:7800

run: build
	@echo ""
	@echo "Parley is starting on ws://$(LISTEN)/ws (data in $(DATA))."
	@echo "  In a browser: http://$(LISTEN)/app/  (register two users in two windows and chat)"
	@echo "Or with the CLI, in two more terminals:"
	@echo "  1) $(BUILD_REL)/parley register alice --password alice-secret && $(BUILD_REL)/parley login alice --password alice-secret && $(BUILD_REL)/parley tail"
	@echo "  2) export PARLEY_HOME=/tmp/bob; $(BUILD_REL)/parley register bob --password bob-secret && $(BUILD_REL)/parley login bob --password bob-secret && $(BUILD_REL)/parley send --to alice 'hello from bob'"
	@echo ""
	$(BUILD_REL)/parleyd --data $(DATA) --listen $(LISTEN)

test-release: build
	cd $(BUILD_REL) && ctest --output-on-failure -j $(JOBS) --timeout 600

# A small quarantine: the default 256 MB hides real memory bounds (SlowConsumerTest).
test-asan: build-asan
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900

# Every test twice: an optimised build, then AddressSanitizer + UndefinedBehaviorSanitizer;
# then each fuzz target for a bounded time (their corpora also replay in both passes).
test: test-release test-asan test-fuzz

bench: build
	$(BUILD_REL)/parley-bench store

format:
	find src apps tests fuzz -name '*.cc' -o -name '*.h' | xargs clang-format -i

format-check:
	find src apps tests fuzz -name '*.cc' -o -name '*.h' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build
