"""`cogarch substrate stats|raster` through typer's CliRunner: the agent's per-user file, --file, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from cli.substrate_cmd import app
from cogarch.substrates import user_file
from snn_substrate import Substrate, SubstrateConfig

runner = CliRunner()


def _saved(data_dir: Path, user: str) -> Path:
    sub = Substrate(SubstrateConfig(neurons=1500, seed=4), device="cpu")
    code = sub.encode(np.linspace(-1.0, 1.0, 64))
    sub.stimulate(code)
    sub.bind(code, "memory-1")
    path = user_file(data_dir / "substrate", user)
    path.parent.mkdir(parents=True)
    sub.save(path)
    return path


def test_stats_reads_the_users_substrate(tmp_path: Path) -> None:
    path = _saved(tmp_path, "alice")
    res = runner.invoke(
        app, ["stats", "--data-dir", str(tmp_path), "--user", "alice", "--device", "cpu", "--json"]
    )
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["source"] == str(path)
    assert info["neurons"] == 1500 and info["bindings"] == 1 and info["synapses"] > 0
    # the same file by path, human-readable
    res = runner.invoke(app, ["stats", "--file", str(path), "--device", "cpu"])
    assert res.exit_code == 0 and "bindings" in res.stdout


def test_raster_of_a_fresh_substrate(tmp_path: Path) -> None:
    out = tmp_path / "r.png"
    res = runner.invoke(
        app, ["raster", "--neurons", "1000", "--duration-ms", "100", "--device", "cpu", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 1000


def test_missing_substrate_is_one_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["stats", "--data-dir", str(tmp_path), "--user", "nobody", "--json"])
    assert res.exit_code == 3
    assert "has no saved substrate" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["stats", "--file", str(tmp_path / "nope.pt")])
    assert res.exit_code == 3 and "no substrate file" in res.output
