# onnxcomp: `make` builds build/onnxcomp, build/libonnxcomp.a and build/libonnxcomp.so.
# `make test` builds and runs every test; `make install PREFIX=...` installs.
BUILD   ?= build
CC      ?= cc
PREFIX  ?= /usr/local
SAN     ?=

WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow
# -fvect-cost-model is GCC's, and clang vectorizes at -O2 without being asked;
# clang also fuses a*b+c into FMAs unless told not to, which GCC does not do
# in ISO C mode: results then differ in the last bits between the two builds
OPT     ?= -O2 -g $(if $(findstring clang,$(CC)),-ffp-contract=off,-ftree-vectorize -fvect-cost-model=dynamic)
CPPFLAGS += -D_GNU_SOURCE -Ilib -Iproto -I$(BUILD)/gen
CFLAGS  += $(WARN) $(OPT) -fPIC $(SAN)
LDLIBS  := -lprotobuf-c -lopenblas -lpng -ljpeg -lcjson -lz -lpthread -lm
LDFLAGS += $(SAN)

.DEFAULT_GOAL := all
include proto/proto.mk

LIB_SRC := $(wildcard lib/common/*.c lib/ir/*.c lib/onnx/*.c lib/exec/*.c lib/data/*.c lib/quant/*.c lib/passes/*.c)
CLI_SRC := $(wildcard cli/*.c)
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC)) $(BUILD)/gen/onnx.pb-c.o
CLI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(patsubst tests/tools/oc_%.c,$(BUILD)/oc-%,$(TOOL_SRC))

all: $(BUILD)/onnxcomp $(BUILD)/libonnxcomp.a $(BUILD)/libonnxcomp.so $(TOOL_BIN)

$(BUILD)/%.o: %.c $(GEN_DIR)/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# generated code: compiled without -Werror's extra warnings it was not written for
$(BUILD)/gen/onnx.pb-c.o: $(GEN_DIR)/onnx.pb-c.c $(GEN_DIR)/onnx.pb-c.h
	$(CC) $(CPPFLAGS) -std=c11 $(OPT) -fPIC $(SAN) -c $< -o $@

$(BUILD)/libonnxcomp.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libonnxcomp.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libonnxcomp.so.0 $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/onnxcomp: $(CLI_OBJ) $(BUILD)/libonnxcomp.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libonnxcomp.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h tests/unit/kernel_test.h tests/unit/channel_graphs.h $(BUILD)/libonnxcomp.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libonnxcomp.a $(LDLIBS) $(LDFLAGS)

# test tools (tests/tools/oc_NAME.c -> build/oc-NAME), e.g. the conformance runner
$(BUILD)/oc-%: tests/tools/oc_%.c lib/onnxcomp.h $(BUILD)/libonnxcomp.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libonnxcomp.a $(LDLIBS) $(LDFLAGS)

# the recipe test tool compiles the CLI's recipe reader in by path
$(BUILD)/oc-recipe: cli/recipe.c cli/recipe.h

units: $(UNIT_BIN)

# the whole suite; ends with "N passed, N failed"
test: all units
	@bash tests/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BUILD)/onnxcomp $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(BUILD)/libonnxcomp.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libonnxcomp.so $(DESTDIR)$(PREFIX)/lib/libonnxcomp.so.0
	ln -sf libonnxcomp.so.0 $(DESTDIR)$(PREFIX)/lib/libonnxcomp.so
	install -m 644 lib/onnxcomp.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/.*OC_VERSION_STRING "\(.*\)"/\1/p' lib/onnxcomp.h)|' \
		scripts/onnxcomp.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/onnxcomp.pc
	if [ -f doc/onnxcomp.1 ]; then install -d $(DESTDIR)$(PREFIX)/share/man/man1 && \
		install -m 644 doc/onnxcomp.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi

clean:
	rm -rf $(BUILD)

.PHONY: all units test install clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# fuzzing: tests/fuzz/fuzz_NAME.c are libFuzzer targets (see scripts/fuzz.sh).
# `make fuzz` builds them with clang, libFuzzer, ASan and UBSan as
# build-fuzz/fuzz/fuzz-NAME (scripts/fuzz.sh builds and runs them);
# `make fuzz-replay` builds $(BUILD)/fuzz/replay-NAME: the same targets under
# tests/fuzz/replay.c with $(CC) (tests/fuzz/replay.sh runs them in `make test`).
FUZZ_BUILD  ?= build-fuzz
FUZZ_CC     ?= clang
FUZZ_NAMES  := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_DEPS   := tests/fuzz/harness.c tests/fuzz/harness.h lib/onnxcomp.h $(BUILD)/libonnxcomp.a

$(BUILD)/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/fuzz -o $@ tests/fuzz/replay.c tests/fuzz/harness.c $< \
		$(BUILD)/libonnxcomp.a $(LDLIBS) $(LDFLAGS)

$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/fuzz -fsanitize=fuzzer -o $@ tests/fuzz/harness.c $< \
		$(BUILD)/libonnxcomp.a $(LDLIBS) $(LDFLAGS)

# the recipe target compiles the CLI's recipe reader in by path
$(BUILD)/fuzz/replay-recipe $(BUILD)/fuzz/fuzz-recipe: cli/recipe.c cli/recipe.h

fuzz-replay: $(patsubst %,$(BUILD)/fuzz/replay-%,$(FUZZ_NAMES))

fuzz-targets: $(patsubst %,$(BUILD)/fuzz/fuzz-%,$(FUZZ_NAMES))

# clang's extra warnings (unknown GCC attributes) are not errors in this build;
# float-to-integer overflows are reported and fuzzing goes on (scripts/fuzz.sh
# lists them), every other sanitizer report stops the run with a crash input
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) WARN="-std=c11 -Wall -Wextra -Wshadow -Wno-unknown-attributes" \
		OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
		-fsanitize-recover=float-cast-overflow" fuzz-targets

.PHONY: fuzz fuzz-targets fuzz-replay
