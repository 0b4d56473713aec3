# A thin wrapper: every target installs what it needs first (scripts/setup.sh is idempotent).
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: deps build test unit asan demo bench package clean

deps:
	@bash scripts/setup.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j$(JOBS)

unit: build
	cd $(BUILD) && ctest -L unit --output-on-failure -j$(JOBS)

test: build
	bash scripts/test.sh $(BUILD)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DONTIME_SANITIZE=address,undefined \
	  -DONTIME_BUILD_BENCH=OFF -DONTIME_WERROR=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ctest -L unit --output-on-failure -j$(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD)

bench: build
	bash bench/run.sh $(BUILD)

package: build
	cd $(BUILD) && cpack -G DEB

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
