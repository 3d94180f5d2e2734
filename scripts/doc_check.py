#!/usr/bin/env python3
"""scripts/doc_check.py -- run the SQL examples of the docs and compare what they show.

Usage (scripts/test.sh runs it against its cluster; PGHOST, PGPORT and PGUSER name the
server):  python3 scripts/doc_check.py FILE.md...

Every ```sql block of the files runs in a fresh database of its own, copied from one with
mtrs, the demo shop (scripts/demo_data.sql), the demo's model "shop" and the stand-in tables
the examples name (test/fixtures/doc_tables.sql: catalog, events, ...); a block that begins
with CREATE EXTENSION mtrs starts without the extension.  A block runs in one psql session,
each statement on its own (a statement ends with a line ending in ';' outside dollar quotes).  What the
docs show after a statement, in comment lines, is checked against what it printed:
  --  a | b        a result row (cells trimmed): the rows shown must be rows of the
                   result, in the same order (rows may be left out; a header row and the
                   line of dashes under it are recognised and skipped)
  -- NOTICE:  ...  a message it must raise (NOTICE, WARNING, ERROR, HINT, DETAIL), with
                   timings ("0.02 s") free; an ERROR not shown fails the block
Lines such as "-- (9 rows: ...)" and comments that are prose (no two spaces after "--")
are not checked.  A block preceded by the line
  <!-- doc-check: skip (why) -->
is not run (another server, Citus, pgvector, a table of the reader's own); one preceded by
  <!-- doc-check: no output (why) -->
runs, but what it shows is not compared (a running query's pid, timings).
It also checks that every training option (the keys of mtrs_options()) has a row in an
options table of docs/sql-reference.md.
Prints one "ok" or "not ok" line per block and a summary; exits 1 if a block failed.

  python3 scripts/doc_check.py --demo DEMO_OUTPUT README.md
checks instead that the README's excerpt of scripts/demo.sh's output is what the demo
printed (DEMO_OUTPUT): every line of it but "...", in order.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MESSAGE = re.compile(r'^(NOTICE|WARNING|ERROR|HINT|DETAIL):  ')
TIMING = re.compile(r'\d+(\.\d+)? s\b')
MARK = '@@doc-check-statement-'
WORKDIR = tempfile.mkdtemp(prefix='mtrs-doc-check.')   # where an example's \o writes its file


def psql(db, args, stdin=None):
    return subprocess.run(['psql', '-X', '-q', '-d', db] + args, input=stdin, cwd=WORKDIR,
                          capture_output=True, text=True)


def blocks(path):
    """(line number, directive, lines) of every ```sql block of a markdown file."""
    out, cur, pending = [], None, None
    lines = open(path, encoding='utf-8').read().split('\n')
    for n, line in enumerate(lines, 1):
        if cur is None:
            m = re.match(r'^<!-- doc-check: (skip|no output)\b.*-->\s*$', line.strip())
            if m:
                pending = m.group(1)
            elif line.strip().startswith('```sql'):
                cur, directive, start, pending = [], pending, n, None
            elif line.strip():
                pending = None
        elif line.strip().startswith('```'):
            out.append((start, directive, cur))
            cur = None
        else:
            cur.append(line)
    return out


def statements(lines):
    """Split a block into [statement text, shown comment lines]."""
    result, cur, dollar = [], [], False
    for line in lines:
        stripped = line.strip()
        if not dollar and not cur and stripped.startswith('--'):
            if result:
                result[-1][1].append(stripped)
            continue
        if not stripped and not cur:
            continue
        cur.append(line)
        dollar ^= line.count('$$') % 2 == 1
        code = re.sub(r'--.*$', '', line).rstrip() if not dollar else line
        if not dollar and (code.endswith(';') or stripped.startswith('\\')):
            result.append(['\n'.join(cur), []])
            cur = []
    if cur:
        result.append(['\n'.join(cur), []])
    return result


def shown_rows(comments):
    """The result rows a statement's comment lines show: "--  a | b" (two spaces)."""
    rows, texts = [], [c[2:] for c in comments]
    for i, t in enumerate(texts):
        body = t.strip()
        if not t.startswith('  ') or not body or MESSAGE.match(body):
            continue
        if re.fullmatch(r'[-+ ]+', body) or body.startswith('('):
            continue
        nxt = texts[i + 1].strip() if i + 1 < len(texts) else ''
        if nxt and re.fullmatch(r'-[-+ ]*', nxt):
            continue                     # a header row: the dashes follow it
        rows.append([c.strip() for c in body.split('|')])
    return rows


def shown_messages(comments):
    """The messages a statement's comment lines show: "-- NOTICE:  ..."."""
    return [c[2:].strip() for c in comments if MESSAGE.match(c[2:].strip())]


def check_block(db, stmts, compare):
    """Run a block's statements in one session; return a list of problems."""
    script = []
    for i, (sql, _) in enumerate(stmts):
        script.append('\\echo %s%d' % (MARK, i))
        script.append('\\warn %s%d' % (MARK, i))
        script.append(sql)
    script.append('\\echo %send' % MARK)
    script.append('\\warn %send' % MARK)
    r = psql(db, ['-A', '-t', '-F', '|', '-v', 'VERBOSITY=default', '-f', '-'], '\n'.join(script) + '\n')
    outs, errs = split(r.stdout), split(r.stderr)
    problems = []
    for i, (sql, comments) in enumerate(stmts):
        first = sql.strip().split('\n')[0][:70]
        got_rows = [[c.strip() for c in l.split('|')] for l in outs.get(i, []) if l.strip()]
        got_msgs = [re.sub(r'^psql:[^:]*:\d+: ', '', l).strip() for l in errs.get(i, [])]
        got_msgs = [m for m in got_msgs if MESSAGE.match(m)]
        rows, messages = shown_rows(comments), shown_messages(comments)
        for m in got_msgs:
            if m.startswith('ERROR:') and not any(norm(m).startswith(norm(s)) for s in messages if s.startswith('ERROR:')):
                problems.append('%s: %s' % (first, m))
        if not compare:
            continue
        for s in messages:
            if not any(norm(m).startswith(norm(s).rstrip('…. ')) for m in got_msgs):
                problems.append('%s: shows "%s", raised %s' % (first, s, got_msgs or 'nothing'))
        j = 0
        for row in rows:
            while j < len(got_rows) and got_rows[j] != row:
                j += 1
            if j == len(got_rows):
                problems.append('%s: shows row %s, which is not in its result %s'
                                % (first, ' | '.join(row), [' | '.join(g) for g in got_rows[:12]]))
                break
            j += 1
    return problems


def norm(message):
    return TIMING.sub('T s', re.sub(r'\s+', ' ', message)).strip()


def split(text):
    """Output lines by statement, from the markers between them."""
    parts, cur = {}, None
    for line in text.split('\n'):
        if line.startswith(MARK):
            key = line[len(MARK):]
            cur = int(key) if key.isdigit() else None
            parts.setdefault(cur, [])
            continue
        if cur is not None:
            parts[cur].append(line)
    return parts


def check_options(db):
    """Every training option (the keys of mtrs_options()) has a row of an options table
    in docs/sql-reference.md ("| `name` |", or several names in one row)."""
    r = psql(db, ['-A', '-t', '-c', 'SELECT jsonb_object_keys(mtrs_options())'])
    keys = [k for k in r.stdout.split() if k]
    rows = [l for l in open(os.path.join(ROOT, 'docs/sql-reference.md'), encoding='utf-8')
            if l.startswith('| `')]
    missing = [k for k in keys if not any(re.match(r'^\| [^|]*`%s`' % re.escape(k), l) for l in rows)]
    if r.returncode != 0 or not keys or missing:
        print('not ok - training options without a row in docs/sql-reference.md: %s %s'
              % (', '.join(missing), r.stderr.strip()))
        return 1
    print('ok - each of the %d training options has a row in docs/sql-reference.md' % len(keys))
    return 0


def main(files):
    failed = checked = skipped = 0
    template, db = 'mtrs_doc_template', 'mtrs_doc_example'
    for name in (db, template):
        psql('postgres', ['-c', 'DROP DATABASE IF EXISTS ' + name])
    psql('postgres', ['-c', 'CREATE DATABASE ' + template])
    setup = psql(template, ['-v', 'ON_ERROR_STOP=1', '-c', 'CREATE EXTENSION mtrs',
                            '-f', os.path.join(ROOT, 'scripts/demo_data.sql'),
                            '-f', os.path.join(ROOT, 'test/fixtures/doc_tables.sql')])
    if setup.returncode != 0:
        print('not ok - setting up the examples\' database failed\n' + setup.stderr)
        return 1
    options_failed = check_options(template)
    for path in files:
        for start, directive, lines in blocks(path):
            where = '%s:%d' % (os.path.relpath(path, ROOT), start)
            if directive == 'skip':
                skipped += 1
                continue
            checked += 1
            stmts = statements(lines)
            psql('postgres', ['-c', 'CREATE DATABASE %s TEMPLATE %s' % (db, template)])
            if stmts and re.match(r'(?i)create extension mtrs\b', stmts[0][0].strip()):
                # an example that starts by creating the extension starts without it
                psql(db, ['-c', 'DROP EXTENSION mtrs CASCADE'])
            problems = check_block(db, stmts, directive != 'no output')
            psql('postgres', ['-c', 'DROP DATABASE ' + db])
            if problems:
                failed += 1
                print('not ok - %s' % where)
                for p in problems:
                    print('    ' + p)
            else:
                print('ok - %s' % where)
    psql('postgres', ['-c', 'DROP DATABASE ' + template])
    print('doc examples: %d blocks run, %d failed, %d skipped' % (checked, failed, skipped))
    return 1 if failed or options_failed else 0


def check_demo(readme, output):
    """The README's excerpt of the demo's output (its first ``` block that starts with
    "==> "): each line but "..." must be a line of the output, in the same order; "..."
    within a line stands for any text, and timings ("0.02 s") are free."""
    excerpt, cur = None, None          # cur: the lines of the fenced block we are in
    for line in open(readme, encoding='utf-8').read().split('\n'):
        if not line.strip().startswith('```'):
            if cur is not None:
                cur.append(line)
        elif cur is None:
            cur = []
        else:
            if cur and cur[0].startswith('==> '):
                excerpt = cur
                break
            cur = None
    if excerpt is None:
        print('not ok - %s has no excerpt of the demo\'s output' % readme)
        return 1
    got = [TIMING.sub('T s', l.rstrip()) for l in open(output, encoding='utf-8').read().split('\n')]
    j = 0
    for line in excerpt:
        if line.strip() == '...':
            continue
        pattern = re.compile('.*'.join(re.escape(TIMING.sub('T s', p)) for p in line.rstrip().split('...')) + '$')
        while j < len(got) and not pattern.match(got[j]):
            j += 1
        if j == len(got):
            print('not ok - the demo\'s output in %s: "%s" is not in the output (in this order)' % (readme, line))
            return 1
        j += 1
    print('ok - the demo prints the %d lines %s shows of its output' % (
        sum(1 for l in excerpt if l.strip() != '...'), readme))
    return 0


if __name__ == '__main__':
    try:
        if sys.argv[1:2] == ['--demo']:
            rc = check_demo(sys.argv[3], sys.argv[2])
        else:
            rc = main(sys.argv[1:])
    finally:
        shutil.rmtree(WORKDIR, ignore_errors=True)
    sys.exit(rc)
