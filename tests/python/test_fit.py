"""edgeopt.fit: the pick re-measured with edgeopt.evaluate and edgeopt.inspect, the output folder
the CLI writes, the report when nothing fits, and the CLI's figures and messages.

One search on models/fashion_resnet8.onnx (host, 300 eval samples, 200 calibration samples,
--max-size 0.2) and one with limits no candidate meets; about 60 s in all."""

import json

import pytest

import edgeopt
import numpy as np

from conftest import BINARY_DIR, fashion_images, fashion_labels, run_cli

EVAL = "fashion-mnist:test"
CALIB = "fashion-mnist:train"
EVAL_LIMIT = 300
MAX_SIZE_MB = 0.2
# The benchmark is not what these tests check: short rounds keep them quick.
QUICK = dict(calib=CALIB, eval=EVAL, eval_limit=EVAL_LIMIT, calib_samples=200, bench_rounds=1,
             bench_runs=10)


@pytest.fixture(scope="module")
def fitted(resnet8, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "out"
    lines = []
    report = edgeopt.fit(resnet8, out, device="host", max_size=MAX_SIZE_MB, progress=lines.append,
                         **QUICK)
    return report, out, lines


def test_report_fields_and_folder(fitted):
    report, out, lines = fitted
    for key in ("edgeopt_fit", "model", "device", "limits", "objective", "eval", "baseline",
                "baseline_top1", "pick", "misses", "candidates", "pick_recipe", "commands"):
        assert key in report, key
    assert report["device"]["name"] == "host"
    assert report["limits"]["max_size_mb"] == MAX_SIZE_MB
    assert report["limits"]["max_drop_pp"] == 1.0  # the CLI's default
    assert report["objective"] == "latency"
    assert report["eval"]["count"] == EVAL_LIMIT
    assert report["pick"] is not None and report["misses"] == []
    # The dict is the report.json written, and the folder is the CLI's.
    assert json.loads((out / "report.json").read_text()) == report
    for name in ("report.md", "report.html", "model.onnx", "recipe.json"):
        assert (out / name).is_file(), name
    frontier = [c for c in report["candidates"] if c["on_frontier"]]
    assert frontier
    for c in frontier:
        assert (out / c["file"]).is_file(), c["file"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.")]  # no temp left
    assert json.loads((out / "recipe.json").read_text())["name"] == report["pick"]
    # The search's log lines reached the callback.
    assert len(lines) >= len(report["candidates"])
    assert any(report["pick"] in line for line in lines)
    # The in-process benchmark says so where the host figures' basis is given.
    assert "Python process" in report["bench"]


def test_pick_remeasured(fitted):
    report, out, _ = fitted
    pick = next(c for c in report["candidates"] if c["name"] == report["pick"])
    assert pick["fits"] and pick["stage"] == "confirmed"
    # The pick is never dominated, so it is on the frontier and its file is among candidates/.
    assert pick["on_frontier"]
    assert (out / "model.onnx").read_bytes() == (out / pick["file"]).read_bytes()
    measured = edgeopt.evaluate(out / "model.onnx", data=EVAL, limit=EVAL_LIMIT)
    assert measured["count"] == pick["eval_count"] == EVAL_LIMIT
    assert measured["top1"] == pick["top1"]
    assert pick["top1"] >= report["baseline_top1"] - 0.01
    inspected = edgeopt.inspect(out / "model.onnx")
    assert inspected["file_bytes"] == pick["size_bytes"]
    assert inspected["file_bytes"] <= MAX_SIZE_MB * 1e6
    assert inspected["file_bytes"] < edgeopt.inspect(report["model"])["file_bytes"]


def test_sizes_and_accuracy_match_the_cli(fitted, resnet8, tmp_path):
    """The CLI on the same arguments builds the same candidates: same files, same top-1 where
    both evaluated the same samples (which candidates get confirmed depends on timings)."""
    report, _, _ = fitted
    code, _, _ = run_cli("fit", resnet8, "--device", "host", "--calib", CALIB, "--eval", EVAL,
                         "--eval-limit", EVAL_LIMIT, "--calib-samples", 200, "--bench-rounds", 1,
                         "--bench-runs", 10, "--max-size", MAX_SIZE_MB, "-o", tmp_path / "cli")
    assert code == 0
    cli = json.loads((tmp_path / "cli" / "report.json").read_text())
    py = {c["name"]: c for c in report["candidates"]}
    assert [c["name"] for c in cli["candidates"]] == list(py)
    compared = 0
    for c in cli["candidates"]:
        assert c["size_bytes"] == py[c["name"]]["size_bytes"], c["name"]
        if c["eval_count"] == py[c["name"]]["eval_count"]:
            assert c["top1"] == py[c["name"]]["top1"], c["name"]
            compared += 1
    assert compared >= 2


def test_nothing_fits_returns_the_report(resnet8, tmp_path):
    out = tmp_path / "none"
    # max_drop=100: the two impossible limits are the only ones missed.
    args = dict(QUICK, eval_limit=200, calib_samples=100)
    report = edgeopt.fit(resnet8, out, max_size=0.001, max_latency=1e-6, max_drop=100, **args)
    assert report["pick"] is None
    assert not any(c["fits"] for c in report["candidates"])
    assert sorted(m.split()[0] for m in report["misses"]) == ["--max-latency", "--max-size"]
    assert all("misses it by" in m for m in report["misses"])
    assert "pick_recipe" not in report
    assert json.loads((out / "report.json").read_text()) == report
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    assert not (out / "model.onnx").exists() and not (out / "recipe.json").exists()


def test_bad_input_raises_the_cli_message(resnet8, tmp_path):
    args = dict(calib=CALIB, eval=EVAL)
    with pytest.raises(edgeopt.InvalidInput) as e:
        edgeopt.fit(resnet8, tmp_path / "out", device="no-such-device", **args)
    code, _, err = run_cli("fit", resnet8, "--device", "no-such-device", "--calib", CALIB,
                           "--eval", EVAL, "-o", tmp_path / "out", check=False)
    assert code == 2
    assert err.strip() == "edgeopt: error: " + str(e.value)
    assert "no-such-device" in str(e.value)
    assert not (tmp_path / "out").exists()

    # A folder that is not an earlier fit's output is refused and left as it was.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(edgeopt.InvalidInput, match="not the output of an earlier edgeopt fit"):
        edgeopt.fit(resnet8, mine, **args)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert (mine / "notes.txt").read_text() == "keep me"

    with pytest.raises(edgeopt.InvalidInput, match="latency_stat"):
        edgeopt.fit(resnet8, tmp_path / "out", latency_stat="p99", **args)
    with pytest.raises(edgeopt.InvalidInput, match="max_size"):
        edgeopt.fit(resnet8, tmp_path / "out", max_size=-1, **args)
    with pytest.raises(edgeopt.InvalidInput, match="objective|accuracy"):
        edgeopt.fit(resnet8, tmp_path / "out", objective="speed", **args)
    assert not (tmp_path / "out").exists()


def test_train_without_edgeopt_train(resnet8, tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEOPT_TRAIN_BINARY", str(tmp_path / "no-edgeopt-train"))
    with pytest.raises(edgeopt.Unsupported, match="edgeopt-train"):
        edgeopt.fit(resnet8, tmp_path / "out", train="fashion-mnist:train", calib=CALIB,
                    eval=EVAL)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not (BINARY_DIR / "edgeopt-train").exists(),
                    reason="edgeopt built without libtorch (no edgeopt-train)")
def test_train_adds_fine_tuned_candidates(resnet8, tmp_path):
    # edgeopt-train fit as a process: fine-tuned, lottery, distilled, zoo-student and QAT candidates
    # join the search, its log arrives line by line, and the result is the report.json it wrote.
    # 2048 training images with their labels as an .npz: each training candidate takes seconds.
    x = fashion_images(split="train", count=2048)
    y = fashion_labels(split="train", count=2048)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    lines = []
    report = edgeopt.fit(resnet8, tmp_path / "out", device="host", max_size=MAX_SIZE_MB,
                         train=tmp_path / "train.npz", progress=lines.append, **QUICK)
    names = [c["name"] for c in report["candidates"]]
    assert any(n.endswith("+ft") for n in names), names
    assert {"prune-50+kd", "prune-50+kd+int8", "qat", "lottery-50", "student-lenet5",
            "student-resnet8-x0.5+int8"} <= set(names), names
    assert report == json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["pick"] is not None and (tmp_path / "out" / "model.onnx").exists()
    assert any(line.startswith("fit: [1/") for line in lines), lines[:5]
