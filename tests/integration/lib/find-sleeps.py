#!/usr/bin/env python3
"""Prints FILE:LINE: TEXT for every `sleep` the shell itself runs in the given
bats and bash files: a fixed sleep used as a wait. Every wait in a suite is a
bounded poll through lib/wait.bash, so only that file may sleep.

Text the shell does not run as a command is left out: quoted strings (a
container's command line, `sh -c '...'`), here-documents (a fake plugin's
script) and comments. A line the shell does run may still sleep when it is
not a wait (a pace between requests of a load generator): it says so with a
comment holding "not a wait".

usage: find-sleeps.py FILE...     (exit status 1 when something was found)
"""
import re
import sys

SLEEP = re.compile(r"(?:^|[\s;&|(){}])sleep\s+[0-9$\"']")
HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z_0-9]*)\2")


def code_of(lines):
    """Yields (line number, the line's text outside quotes and comments, and
    whether its comment says "not a wait") for every line outside
    here-document bodies. Command substitutions are code, in quotes too."""
    # open contexts, innermost last: "'" and '"' strings, "$(" substitutions
    # (with their count of open parentheses); a string may span lines
    stack = []
    heredocs = []         # markers whose bodies start on the next line
    body = None           # (marker, strip tabs) of the body being skipped
    for n, line in enumerate(lines, 1):
        if body is not None:
            text = line.rstrip("\n")
            if (text.lstrip("\t") if body[1] else text) == body[0]:
                body = heredocs.pop(0) if heredocs else None
            continue
        out = []
        comment = ""
        i = 0
        while i < len(line):
            c = line[i]
            top = stack[-1] if stack else None
            if top == "'":
                if c == "'":
                    stack.pop()
                    out.append(c)
                i += 1
                continue
            if c == "\\":
                i += 2
                continue
            if line.startswith("$(", i) and not line.startswith("$((", i):
                stack.append(["$(", 0])
                out.append("$(")
                i += 2
                continue
            if top == '"':
                if c == '"':
                    stack.pop()
                    out.append(c)
                i += 1
                continue
            # code: the top level or a command substitution
            if c in "'\"":
                stack.append(c)
                out.append(c)
            elif c == "(" and top is not None:
                top[1] += 1
                out.append(c)
            elif c == ")" and top is not None:
                if top[1] == 0:
                    stack.pop()
                else:
                    top[1] -= 1
                out.append(c)
            elif c == "#" and (i == 0 or line[i - 1] in " \t;&|("):
                comment = line[i:]
                break
            elif line.startswith("<<", i) and not line.startswith("<<<", i) \
                    and HEREDOC.match(line, i):
                m = HEREDOC.match(line, i)
                heredocs.append((m.group(3), m.group(1) == "-"))
                i = m.end()
                continue
            else:
                out.append(c)
            i += 1
        yield n, "".join(out), "not a wait" in comment
        if heredocs and not stack:
            body = heredocs.pop(0)


def main(paths):
    found = False
    for path in paths:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
        for n, code, excused in code_of(lines):
            if SLEEP.search(code) and not excused:
                print("%s:%d: %s" % (path, n, lines[n - 1].strip()))
                found = True
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
