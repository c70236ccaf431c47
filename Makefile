# kperf - build, test, bench, docs, install. `make help` lists the targets.
CC ?= cc
CXX ?= c++
PREFIX ?= /usr/local
DESTDIR ?=
B ?= build
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror
CWARN := $(WARN)
CXXWARN := -Wall -Wextra -Wshadow -Werror
OPT ?= -O2 -g
CFLAGS_ALL := $(OPT) -std=gnu11 $(CWARN) -I. $(EXTRA_CFLAGS)
CXXFLAGS_ALL := $(OPT) -std=c++11 $(CXXWARN) -I. $(EXTRA_CFLAGS)
LIBS := -lelf -ldw -lz -lpthread -ldl -lm
HEADERS := kperf.h kperf_symbols.h kperf_spe.h
# libkperf drop-in: libkperf's own header names; `make` builds $(B)/libkperf.so from them.
LK_HEADERS := libkperf/pmu.h libkperf/pcerrc.h libkperf/symbol.h
LK_LINK = -L$(B) -lkperf -Wl,-rpath,$(abspath $(B))
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

TOOL_SRC := $(wildcard examples/kperf/*.c)
EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))
TESTS_C := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/test_*.c))
TESTS_CXX := $(patsubst tests/%.cpp,$(B)/tests/%,$(wildcard tests/test_*.cpp))
# target programs of the tests; sym_fixture_unit2.c is a second unit the oracle test links
PROGS := $(patsubst tests/progs/%.c,$(B)/progs/%,$(filter-out tests/progs/sym_fixture_unit2.c,$(wildcard tests/progs/*.c))) \
    $(B)/progs/sym_fixture_cpp
BENCHES := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/bench_*.c))

.PHONY: all deps setup tool lib install-libkperf examples tests test check test-arm64 bench docs install demo clean help python fuzz fuzz-build man

# Plain `make` and `make install` change nothing outside the tree; `make deps` (and the
# targets that run things: demo, test, check, bench, docs) install missing Debian packages.
all: tool lib examples

help:
	@echo "make            build the kperf tool, $(B)/libkperf.so and the examples into $(B)/"
	@echo "make demo       run the main demo (examples/count_region)"
	@echo "make test       build and run every test, plain then ASan+UBSan, then arm64"
	@echo "make check T=test_name[:case]   build and run one test program (or one test of it)"
	@echo "make test-arm64 the arm64 suite in QEMU with an emulated PMU (docs/arm64.md)"
	@echo "make deps       install the Debian packages the build and the tests need"
	@echo "make bench      run the benchmarks, write docs/PERFORMANCE.md"
	@echo "make fuzz       libFuzzer harnesses (tests/fuzz/), FUZZ_SECONDS=60 each; docs/security.md"
	@echo "make docs       Doxygen reference (warnings are errors)"
	@echo "make install    PREFIX=/usr/local DESTDIR= : headers, tool, man pages, libkperf.so, kperf.pc, the Python package (PYTHON_SITE=)"
	@echo "make man       $(B)/man: kperf(1) and kperf-CMD(1), written from the tool's --help"
	@echo "make python     $(B)/libkperf.so and the kperf package in $(B)/python/kperf"

deps:
	@bash tests/setup.sh test

setup:
	@bash tests/setup.sh build

tool: $(B)/kperf
lib: $(B)/libkperf.so
examples: $(EXAMPLES)
tests: $(TESTS_C) $(TESTS_CXX) $(PROGS) $(B)/kperf $(EXAMPLES) $(B)/tests/compile_checks \
       $(B)/libkperf.so

# The libkperf drop-in library: libkperf's C API (libkperf/*.h) on kperf's objects.
$(B)/libkperf.so: libkperf/libkperf.c $(LK_HEADERS) $(HEADERS) | $(B)
	$(CC) $(CFLAGS_ALL) $(EX_OPT) -fPIC -shared -Wl,-soname,libkperf.so -o $@ $< $(LIBS)

# Python package (examples/python/kperf); it loads $(B)/libkperf.so with ctypes.
PY_SRC := $(wildcard examples/python/kperf/*.py)
python: $(B)/libkperf.so $(patsubst examples/python/%,$(B)/python/%,$(PY_SRC)) \
        $(B)/python/profiler.py

$(B)/python/kperf/%.py: examples/python/kperf/%.py
	@mkdir -p $(dir $@)
	cp $< $@

$(B)/python/profiler.py: examples/python/profiler.py
	@mkdir -p $(dir $@)
	cp $< $@

# The implementation is compiled once per build flavour (build/, build-asan/) into
# $(B)/obj/impl.o and linked into the tool and every test that does not instantiate the
# headers itself (tests that reach private kperf__ helpers define KPERF_IMPLEMENTATION).
IMPL_O := $(B)/obj/impl.o
TOOL_OBJ := $(patsubst examples/kperf/%.c,$(B)/obj/kperf/%.o,$(filter-out examples/kperf/impl.c,$(TOOL_SRC)))
impl_for = $(if $(shell grep -l '^\#define KPERF_IMPLEMENTATION' $(1)),,$(IMPL_O))
# A test that compiles the implementation itself does so at -O0 (5x faster to build): impl.o,
# the tool and the compile matrix keep the optimised build covered. EX_OPT does the same for
# the examples (each is a one-file program with the implementation) and libkperf.so;
# `make test` sets it to -O0 (tests/all.sh).
self_opt = $(if $(call impl_for,$(1)),,-O0)
EX_OPT ?=

$(IMPL_O): examples/kperf/impl.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(B)/obj/kperf/%.o: examples/kperf/%.c examples/kperf/*.h $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# kperf sql needs SQLite (Debian: libsqlite3-dev); without it the command says so.
SQLITE_LIBS := $(shell pkg-config --libs sqlite3 2>/dev/null)
ifneq ($(SQLITE_LIBS),)
$(B)/obj/kperf/prof_sql.o: CFLAGS_ALL += -DKPERF_HAVE_SQLITE $(shell pkg-config --cflags sqlite3)
endif

$(B)/kperf: $(TOOL_OBJ) $(IMPL_O)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS) $(SQLITE_LIBS)

$(B)/examples/%: examples/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(EX_OPT) -o $@ $< $(LIBS)

# libkperf programs: libkperf's include lines, linked against the drop-in library.
$(B)/examples/libkperf_%: examples/libkperf_%.c $(LK_HEADERS) $(B)/libkperf.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Ilibkperf -o $@ $< $(LK_LINK)

$(B)/tests/%: tests/%.c tests/*.h $(HEADERS) $(IMPL_O)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(call self_opt,$<) -o $@ $< $(call impl_for,$<) $(LIBS)

# Tests of the libkperf API: built against the drop-in headers and $(B)/libkperf.so.
LK_TESTS := $(B)/tests/test_libkperf_c $(B)/tests/test_unwind_libkperf
$(LK_TESTS): $(B)/tests/%: tests/%.c tests/*.h $(LK_HEADERS) $(HEADERS) $(B)/libkperf.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Ilibkperf -o $@ $< $(LK_LINK)

# The symbolizer's threads under ThreadSanitizer: its own flags in every flavour (TSan does
# not combine with ASan), the implementation compiled in.
$(B)/tests/test_symbols_tsan: tests/test_symbols_tsan.c tests/test_symbols_parallel.c tests/*.h $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 $(CWARN) -I. -fsanitize=thread -o $@ $< $(LIBS)

$(B)/tests/%: tests/%.cpp tests/*.h $(HEADERS) $(IMPL_O)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_ALL) $(call self_opt,$<) -o $@ $< $(call impl_for,$<) $(LIBS)

$(B)/progs/%: tests/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -fno-omit-frame-pointer -o $@ $< -lpthread -lm -ldl

# C++ with inlined functions that have no linkage name: gnu_compat names depend on lookup
# order there (tests/test_symbols_parallel).
$(B)/progs/sym_fixture_cpp: tests/progs/sym_fixture_cpp.cpp
	@mkdir -p $(dir $@)
	$(CXX) -O2 -g -o $@ $<

# DWARF unwinding fixtures: optimised, no frame pointers (tests/test_unwind*).
$(B)/progs/unwind_%: tests/progs/unwind_%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fomit-frame-pointer -o $@ $<

$(B)/bench/%: bench/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O2 -o $@ $< $(LIBS) $(BENCH_LIBS)

# Header form checks: C99 and C++11 declaration-only, the implementation in a C++ TU (run),
# two translation units, KPERF_STATIC; at -O0 (tests/test_compile_matrix.sh compiles two TUs
# at -O2, and every standard).
$(B)/tests/compile_checks: tests/compile/*.c tests/compile/*.cpp $(HEADERS) | $(B)
	@mkdir -p $(B)/tests/compile
	$(CC) -std=c99 -pedantic $(WARN) -I. -c tests/compile/decl_only.c -o $(B)/tests/compile/decl_c99.o
	$(CXX) -std=c++11 $(CXXWARN) -I. -c tests/compile/decl_only_cpp.cpp -o $(B)/tests/compile/decl_cxx.o
	$(CXX) $(CXXFLAGS_ALL) -O0 -o $(B)/tests/compile/impl_cxx tests/compile/impl_cpp.cpp $(LIBS)
	$(CC) $(CFLAGS_ALL) -O0 -o $(B)/tests/compile/two_tu tests/compile/tu_a.c tests/compile/tu_b.c $(LIBS)
	$(CC) $(CFLAGS_ALL) -O0 -DKPERF_STATIC -o $(B)/tests/compile/static tests/compile/static.c $(LIBS)
	@touch $@

$(B):
	@mkdir -p $(B)

# libFuzzer harnesses, one per parser of untrusted input (tests/fuzz/fuzz_*.c, seeds in
# tests/fuzz/corpus/NAME/). They link one implementation object built with clang, ASan and
# UBSan. `make fuzz` runs each for FUZZ_SECONDS and writes $(FUZZ_B)/fuzz-summary.txt;
# `make test` replays each corpus plus a short fixed-seed run (tests/test_fuzz.sh).
FUZZ_B ?= build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined -std=gnu11 -Wall -Wextra -Werror -I.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZERS := $(patsubst %,$(FUZZ_B)/fuzz_%,$(FUZZ_NAMES))

fuzz-build: $(FUZZERS)

$(FUZZ_B)/impl.o: examples/kperf/impl.c $(HEADERS)
	@mkdir -p $(FUZZ_B)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_B)/impl.o
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_B)/impl.o $(LIBS)

fuzz:
	@bash tests/setup.sh fuzz
	@$(MAKE) --no-print-directory -j2 fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_B) $(FUZZ_SECONDS) $(FUZZ_NAMES)

test:
	@bash tests/setup.sh test
	@ASAN_OPT="-O1 -g $(ASAN_FLAGS)" MAKE="$(MAKE)" bash tests/all.sh

# arm64: cross-built statically, run in QEMU (-icount: exact instruction counts).
test-arm64:
	@bash tests/arm64/run.sh build/arm64

# One test program, or one test of a C program: make check T=test_counting[:case]
T_PROG = $(firstword $(subst :, ,$(T)))
check:
	@test -n "$(T)" || { echo "usage: make check T=test_name[:case]"; exit 2; }
	@bash tests/setup.sh test
	@$(MAKE) --no-print-directory -j2 $(B)/kperf $(PROGS) $(EXAMPLES) $(B)/libkperf.so \
	    $(if $(wildcard tests/$(T_PROG).c tests/$(T_PROG).cpp),$(B)/tests/$(T_PROG)) \
	    $(if $(filter test_compile%,$(T_PROG)),$(B)/tests/compile_checks)
	@bash tests/run.sh $(B) check "$(T)"

bench: setup
	@bash tests/setup.sh bench
	@$(MAKE) --no-print-directory $(BENCHES) $(B)/kperf BENCH_LIBS="$(BENCH_LIBS) $$(test -e /usr/include/papi.h && echo -lpapi)"
	@bash bench/run.sh $(B)

docs:
	@bash tests/setup.sh docs
	@mkdir -p $(B)/docs
	@doxygen docs/Doxyfile > $(B)/docs/doxygen.log 2> $(B)/docs/warnings.log; \
	  if [ -s $(B)/docs/warnings.log ]; then cat $(B)/docs/warnings.log; echo "make docs: Doxygen warnings (treated as errors)"; exit 1; fi
	@echo "docs: $(B)/docs/html/index.html"

demo: setup
	@$(MAKE) --no-print-directory all
	@$(B)/examples/count_region

install: all install-libkperf man
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(HEADERS) $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(B)/kperf $(DESTDIR)$(PREFIX)/bin/kperf
	sed -e 's|@PREFIX@|$(PREFIX)|' docs/kperf.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/kperf.pc
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PYTHON_SITE)/kperf
	install -m 644 $(B)/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(PY_SRC) $(DESTDIR)$(PYTHON_SITE)/kperf/

# Man pages of the tool, written from its own --help (docs/man/mkman.sh): kperf(1) and
# kperf-CMD(1) for every command.
man: $(B)/kperf
	@bash docs/man/mkman.sh $(B)/kperf $(B)/man

# Where `make install` puts the Python package (it loads PREFIX/lib/libkperf.so).
PYTHON_SITE ?= $(shell python3 -c 'import sysconfig; print(sysconfig.get_path("purelib", vars={"base": "$(PREFIX)", "platbase": "$(PREFIX)"}))' 2>/dev/null || echo $(PREFIX)/lib/python3/dist-packages)

# The libkperf drop-in: headers in include/kperf/libkperf/ (libkperf's names), the library,
# libkperf.pc (`cc prog.c $$(pkg-config --cflags --libs libkperf)`).
install-libkperf: $(B)/libkperf.so
	install -d $(DESTDIR)$(PREFIX)/include/kperf/libkperf $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(LK_HEADERS) $(DESTDIR)$(PREFIX)/include/kperf/libkperf/
	install -m 755 $(B)/libkperf.so $(DESTDIR)$(PREFIX)/lib/libkperf.so
	sed -e 's|@PREFIX@|$(PREFIX)|' docs/libkperf.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libkperf.pc

clean:
	rm -rf build build-asan build-fuzz
