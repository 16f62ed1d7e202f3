# Parley — the two commands: `make run` and `make test`.
# Both install missing Debian packages first (scripts/install-deps.sh is idempotent).

JOBS      ?= $(shell nproc)
DATA      ?= ./data
BUILD_REL := build/release
BUILD_SAN := build/asan
CMAKE_GEN := -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: all deps build build-asan run test test-release test-asan bench format format-check clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_REL)/build.ninja:
	cmake -S . -B $(BUILD_REL) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release

$(BUILD_SAN)/build.ninja:
	cmake -S . -B $(BUILD_SAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_SANITIZE=ON

build: deps $(BUILD_REL)/build.ninja
	cmake --build $(BUILD_REL) -j $(JOBS)

build-asan: deps $(BUILD_SAN)/build.ninja
	cmake --build $(BUILD_SAN) -j $(JOBS)

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

# Every test twice: an optimised build, then AddressSanitizer + UndefinedBehaviorSanitizer.
test: test-release test-asan

bench: build
	$(BUILD_REL)/parley-bench store

format:
	find src apps tests -name '*.cc' -o -name '*.h' | xargs clang-format -i

format-check:
	find src apps tests -name '*.cc' -o -name '*.h' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build
