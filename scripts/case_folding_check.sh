#!/usr/bin/env bash
# scripts/case_folding_check.sh -- check the tokenizer's case folding against Unicode.
#
# Usage: bash scripts/case_folding_check.sh      (needs gcc and python3; no server)
#
# Compiles src/mtrs_text.c into a small program that prints, for every code point below
# U+30000, what case folding rules 0 and 1 map it to, and compares rules 1 with the simple
# lower case mapping of the Unicode version in Python's unicodedata (final sigma with its
# case folding, σ).  Fails if rules 1 fold a code point to anything else, or fold two
# letters together that Unicode keeps apart; reports what rules 0 get wrong and which
# cased letters neither set folds, by script.  The folding must not change a character's
# class (word, punctuation, separator, a word by itself) either.
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cat > "$WORK/folds.c" <<'C'
#include <stdio.h>
#include "mtrs_text.c"

int
main(void)
{
	for (int32_t c = 0; c < 0x30000; c++)
	{
		int32_t		f0 = fold_case(c, 0),
					f1 = fold_case(c, 1);

		if (char_class(f0) != char_class(c) || char_class(f1) != char_class(c))
			printf("class %d\n", c);
		else if (f0 != c || f1 != c)
			printf("%d %d %d\n", c, f0, f1);
	}
	return 0;
}
C
gcc -O1 -I"$ROOT/include" -I"$ROOT/src" -o "$WORK/folds" "$WORK/folds.c"
"$WORK/folds" > "$WORK/folds.txt"

python3 - "$WORK/folds.txt" <<'PY'
import collections, sys, unicodedata

rules0, rules1, class_changed = {}, {}, []
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "class":
        class_changed.append(int(f[1]))
    else:
        c, f0, f1 = map(int, f)
        rules0[c], rules1[c] = f0, f1

SIMPLE = {0x130: 0x69, 0x3C2: 0x3C3}  # Python's lower() gives "i̇" for İ; ς folds to σ


def lower(c):
    if c in SIMPLE:
        return SIMPLE[c]
    s = chr(c).lower()
    return ord(s) if len(s) == 1 else c


def check(rules):
    wrong = [c for c, f in rules.items() if f != c and f != lower(c)]
    merged = collections.defaultdict(set)
    for c in range(0x30000):
        merged[rules.get(c, c)].add(c)
    together = [sorted(v) for v in merged.values() if len({lower(x) for x in v}) > 1]
    missing = collections.Counter(
        unicodedata.name(chr(c), "?").split()[0]
        for c in range(0x80, 0x30000) if lower(c) != c and rules.get(c, c) == c)
    return wrong, together, missing


def show(cs):
    return " ".join(f"U+{c:04X} {chr(c)}" for c in cs[:12])


print(f"Unicode {unicodedata.unidata_version}")
for name, rules in (("rules 0", rules0), ("rules 1", rules1)):
    wrong, together, missing = check(rules)
    print(f"{name}: {sum(1 for c, f in rules.items() if f != c)} code points folded, "
          f"{len(wrong)} to another letter than Unicode's lower case, {len(together)} letters folded together")
    if wrong:
        print("  wrong:", show(wrong))
    for group in together[:12]:
        print("  together:", show(group))
    print("  cased letters left as they are, by script:",
          ", ".join(f"{k} {n}" for k, n in missing.most_common(8)))
ok = not class_changed and not check(rules1)[0] and not check(rules1)[1]
if class_changed:
    print("folding changes the class of", show(class_changed))
print("case folding rules 1:", "ok" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY
