"""Render and build cost per draft, for each way of rendering a template part (docs/benchmarks.md, issue 12).

    python bench/render_drafts.py WORKBOOK [--reps 9]

Reads WORKBOOK (a benchmark workbook from make_workbook.py) as a dry run
would, then renders and builds every due draft with a usable address in this
process, nothing written, with:

- ``fast``: ``drafts.render._render_fast``, what sheetsync uses (a Context made by hand);
- ``low-level``: Jinja's documented low-level API, ``new_context(vars, shared=True)``
  and ``root_render_func``;
- ``public``: ``Template.render``, what ``SHEETSYNC_PLAIN=jinja`` uses.

Prints the median and the fastest of ``--reps`` runs of each, interleaved, in
microseconds per draft, and the median time of ``load_templates``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import time
from pathlib import Path
from typing import Any

import jinja2

from sheetsync import drafts
from sheetsync.config import Config
from sheetsync.drafts import render
from sheetsync.drafts.maker import Maker, skip_reason
from sheetsync.run import Options, execute

AS_OF = dt.date(2026, 11, 27)


def low_level(tmpl: jinja2.Template, ctx: dict[str, Any]) -> str:
    try:
        context = tmpl.new_context(ctx, shared=True)
        return tmpl.environment.concat(tmpl.root_render_func(context))
    except Exception:
        tmpl.environment.handle_exception()


WAYS = {"fast": render._render_fast, "low-level": low_level, "public": render._render_plain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("workbook", type=Path)
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    config = Config()
    result = execute(config, Options(source=str(args.workbook), as_of=AS_OF))
    included = [r for r in result.rows if r.row not in result.checked.excluded]
    todo = [(r, why) for r, why in drafts.due(included, result.checked.stale, config, AS_OF) if skip_reason(r) is None]
    templates = drafts.load_templates(config)
    per_draft: dict[str, list[float]] = {name: [] for name in WAYS}
    for _rep in range(args.reps):
        for name, how in WAYS.items():
            maker = Maker(config, AS_OF, templates, Path("unused"), "eml", dry_run=True)
            maker.render_with = how
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            for row, reason in todo:
                maker.build(row, reason)
            per_draft[name].append((time.perf_counter() - start) / len(todo) * 1e6)
            gc.enable()
    print(f"{len(todo)} drafts, {args.reps} runs each")
    for name, values in per_draft.items():
        print(f"{name:10} median {statistics.median(values):6.1f} µs per draft, fastest {min(values):6.1f}")
    loads = []
    for _rep in range(args.reps):
        start = time.perf_counter()
        drafts.load_templates(config)
        loads.append((time.perf_counter() - start) * 1000)
    print(f"load_templates median {statistics.median(loads):.1f} ms")


if __name__ == "__main__":
    main()
