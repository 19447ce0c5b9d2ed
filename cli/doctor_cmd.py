"""``cogarch doctor [--data-dir D] [--repair] [--json]``: check a data directory, repair what can be rebuilt.

Exit code 0 when nothing is left in error (warnings allowed), 1 otherwise. See :mod:`cogarch.doctor`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from cli.common import console, err_console, handled, load_settings, print_json

_STYLE = {"ok": "green", "warning": "yellow", "error": "bold red", "repaired": "cyan"}


def doctor(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data directory (default: per-user data dir).")
    ] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Rebuild the vector index, move damaged files aside, fix modes.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check a data directory (stores open, integrity, vector index vs records, substrate files, checkpoints,
    permissions); with --repair, rebuild what can be rebuilt."""
    with handled():
        from cogarch.doctor import diagnose

        settings = load_settings(data_dir)
        with Progress(
            TextColumn("[dim]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
            disable=json_out,
        ) as bar:
            tasks: dict[str, Any] = {}

            def progress(task: str, done: int, total: int) -> None:
                if task not in tasks:
                    tasks[task] = bar.add_task(f"rebuilding the {task}", total=total)
                bar.update(tasks[task], completed=done, total=total)

            report = diagnose(Path(settings.data_dir), settings=settings, repair=repair, progress=progress)
        if json_out:
            print_json(report.as_dict())
        else:
            table = Table(title=f"cogarch doctor: {report.data_dir}")
            for col in ("check", "status", "finding", "path"):
                table.add_column(col, overflow="fold")
            for c in report.checks:
                finding = c.message + (f"\n[dim]hint: {c.hint}[/]" if c.hint else "")
                table.add_row(c.name, f"[{_STYLE[c.status]}]{c.status}[/]", finding, c.path)
            console.print(table)
            console.print("[green]ok[/]" if report.ok else "[bold red]problems remain[/] (see the hints)")
        if not report.ok:
            raise typer.Exit(code=1)


app = typer.Typer(help="Check and repair a data directory.")
app.command("doctor")(doctor)

__all__ = ["app", "doctor"]
