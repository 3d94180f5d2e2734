# Makefile -- PGXS build of the mtrs extension, its tests and unit tests.
EXTENSION  = mtrs
# the version being built is the control file's default_version
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big = mtrs
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
# sql/mtrs.sql is the source of the version being built; the install scripts of
# released versions (frozen) and the upgrade scripts sql/mtrs--A--B.sql are installed as they are
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA       = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))
PG_CPPFLAGS = -I$(srcdir)/include
PG_CFLAGS   = -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers
SHLIB_LINK  = -lopenblas -lm

REGRESS      = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test
# isolation tests (sessions whose steps interleave): test/isolation/specs/*.spec, their
# expected outputs in test/isolation/expected (pg_isolation_regress reads them from its inputdir)
ISOLATION      = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation
EXTRA_CLEAN  = test/unit/test_kernels test/unit/model_mutate test/unit/*.o

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# Vectorizer-friendly math for the kernels only; never -ffast-math (isfinite must work).
KERNEL_FLAGS = -O3 -fno-math-errno -fno-signed-zeros -fno-trapping-math -ffp-contract=fast
src/mtrs_nn.o: override CFLAGS += $(KERNEL_FLAGS)
# The trainer's per-pair loops (gathering rows, right-hand sides) vectorize at -O3;
# they have no reductions, so the result is the same bits as at -O2.
src/mtrs_train.o src/mtrs_heads.o: override CFLAGS += -O3

# Plain-C unit tests of the kernel layer: no server, no PostgreSQL headers.  COPT adds
# flags here as it does to PGXS's CFLAGS (scripts/coverage.sh: COPT='--coverage -O0').
UNIT_SRCS = test/unit/test_kernels.c src/mtrs_nn.c src/mtrs_text.c src/mtrs_textmodel.c \
            src/mtrs_intentrule.c src/mtrs_format.c
test/unit/test_kernels: $(UNIT_SRCS) $(wildcard include/*.h) test/unit/reference_kernels.h
	$(CC) -std=gnu11 -g -O2 -Wall -Wextra -Wno-unused-parameter -Werror -Iinclude $(COPT) \
		-o $@ $(UNIT_SRCS) -lopenblas -lm

# Crafted variants of a model with correct checksums, for the "crafted models" check
KERNEL_SRCS = $(filter-out test/unit/test_kernels.c,$(UNIT_SRCS))
test/unit/model_mutate: test/unit/model_mutate.c $(KERNEL_SRCS) $(wildcard include/*.h)
	$(CC) -std=gnu11 -g -O2 -Wall -Wextra -Wno-unused-parameter -Werror -Iinclude $(COPT) \
		-o $@ test/unit/model_mutate.c $(KERNEL_SRCS) -lopenblas -lm

.PHONY: unitcheck
unitcheck: test/unit/test_kernels
	./test/unit/test_kernels

# Rebuild every object when a header changes (PGXS does not track headers).
$(OBJS): $(wildcard include/*.h)

# The kernels' flags, for bench/kernels/run.sh
.PHONY: print-kernel-flags
print-kernel-flags:
	@echo $(KERNEL_FLAGS)
