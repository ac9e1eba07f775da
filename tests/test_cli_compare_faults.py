"""`fairkit compare`'s report under faults (issue #16, item 1): interrupted or killed at every
file step, raced by a second run, failing while writing. The folder must always show one
run's complete report (all four files byte-identical to that run's), never a mix, and leave
no temporary file behind after an interrupt or a failure.

The faults are injected deterministically with one audit hook (``sys.addaudithook``; hooks
cannot be removed, so the hook is installed once and consults ``_FAULT``): it counts the
file-system audit events of the calling thread and, at the k-th, raises KeyboardInterrupt
(an interrupt: the code may tidy up), or raises at that event and at every later one (a
kill: nothing after the k-th step happens, as with SIGKILL).
"""

import argparse
import base64
import io
import os
import re
import shutil
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest

import fairkit._cli_compare as cc
from fairkit.cli import main

NAMES = ["fairkit-compare.png", "fairkit-compare.csv", "fairkit-compare-groups.csv",
         "fairkit-compare.html"]
FILE_EVENTS = {"open", "os.mkdir", "os.rename", "os.replace", "os.symlink", "os.remove",
               "os.rmdir", "os.scandir", "os.listdir", "shutil.rmtree", "shutil.copyfile",
               "shutil.copymode", "shutil.copystat", "fcntl.flock", "tempfile.mkdtemp",
               "os.chmod", "os.link", "os.truncate", "os.utime"}

#: the step that publishes a version: os.replace (audit event "os.rename") of a new link
#: over `current`
PUBLISH = re.compile(r"os\.rename tmp-\* -> current$")


class _Killed(BaseException):
    """Every file step from the k-th on fails: the process is gone (SIGKILL)."""


class _Fault:
    def __init__(self):
        self.armed = False

    def arm(self, at=None, mode="interrupt", action=None):
        self.thread, self.at, self.mode, self.action = threading.get_ident(), at, mode, action
        self.count, self.fired, self.events = 0, False, []
        self.armed = True

    def disarm(self):
        self.armed = False


_FAULT = _Fault()


def _name(arg):
    if isinstance(arg, (str, bytes, os.PathLike)):
        return re.sub(r"-[0-9a-z_]{8,}$", "-*", os.path.basename(os.fsdecode(arg)))
    return "fd" if isinstance(arg, int) else str(arg)


def _describe(event, args):
    if event in ("os.replace", "os.rename", "os.symlink"):
        return f"{_name(args[0])} -> {_name(args[1])}"
    return _name(args[0]) if args else ""


def _hook(event, args):
    f = _FAULT
    if not f.armed or event not in FILE_EVENTS or threading.get_ident() != f.thread:
        return
    f.count += 1
    f.events.append(f"{event} {_describe(event, args)}")
    if f.fired and f.mode == "kill":
        raise _Killed
    if f.count == f.at:
        f.fired = True
        if f.action is not None:
            f.armed = False  # the action's own file steps are not counted
            try:
                f.action()
            finally:
                f.armed = True
        elif f.mode == "kill":
            raise _Killed
        else:
            raise KeyboardInterrupt


sys.addaudithook(_hook)


# ------------------------------------------------------------------------------------------
# two different runs, A and B, recorded once and replayed into any folder
# ------------------------------------------------------------------------------------------
def _csv(path, seed, n, shift):
    rng = np.random.default_rng(seed)
    grp = rng.choice(["a", "b"], size=n, p=[0.6, 0.4])
    x1 = rng.normal(size=n) + shift * (grp == "b")
    x2 = rng.normal(size=n)
    y = (x1 + 0.5 * x2 + rng.normal(scale=0.7, size=n) > 0.4).astype(int)
    pd.DataFrame({"x1": x1, "x2": x2, "grp": grp, "y": y}).to_csv(path, index=False)
    return path


def argv(csv, out):
    return ["compare", "--dataset", str(csv), "--target", "y", "--prot-attr", "grp",
            "--methods", "baseline", "--grid", "single", "--cv", "2", "--n-jobs", "1",
            "--quiet", "--output", str(out)]


def run(args):
    out = io.StringIO()
    status = main(args, out=out)
    return status, out.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The arguments compare passed to its report writer for two data sets, A and B."""
    root = tmp_path_factory.mktemp("faults")
    csvs = {"A": _csv(root / "a.csv", 0, 400, 0.8), "B": _csv(root / "b.csv", 1, 300, 1.5)}
    calls = {}
    original = cc._write_compare_outputs

    def record(*args):
        calls[args[1].dataset] = args
        return original(*args)

    cc._write_compare_outputs = record
    try:
        for key, csv in csvs.items():
            assert run(argv(csv, root / f"first-{key}"))[0] == 0
    finally:
        cc._write_compare_outputs = original
    return {key: calls[str(csv)] for key, csv in csvs.items()}, csvs


def publish(call, folder):
    """Replay one recorded run's report into ``folder`` (the whole CV is not redone)."""
    args = argparse.Namespace(**vars(call[1]))
    args.output = str(folder)
    return cc._write_compare_outputs(call[0], args, *call[2:-1], io.StringIO())


def shown(folder):
    """What a user opening the four names sees: bytes, or None where nothing opens."""
    return {n: (folder / n).read_bytes() if (folder / n).is_file() else None for n in NAMES}


@pytest.fixture(scope="module")
def snap(runs, tmp_path_factory):
    calls, _ = runs
    root = tmp_path_factory.mktemp("snap")
    out = {}
    for key in "AB":
        publish(calls[key], root / key)
        out[key] = shown(root / key)
        publish(calls[key], root / f"{key}2")  # the replay is deterministic, byte for byte
        assert shown(root / f"{key}2") == out[key]
    # every file differs between the two runs, so a mix of them would be seen
    assert all(out["A"][n] != out["B"][n] for n in NAMES)
    assert all(v is not None for v in out["A"].values())
    return out


def publish_bytes(files, folder):
    """The publishing mechanism alone, with a writer that only copies ``files`` in (fast)."""

    def write(run_dir):
        for n in NAMES:
            (run_dir / n).write_bytes(files[n])

    cc._publish_report(folder, write, lambda: None)


def _embedded_png(html):
    return base64.b64decode(re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)",
                                      html.decode()).group(1))


def assert_whole(now, snap):
    """``now`` (a CLI run's files, whose fit times differ from run to run) is one run's
    complete report; returns which run's, A or B."""
    key = "A" if now["fairkit-compare.png"] == snap["A"]["fairkit-compare.png"] else "B"
    # the PNG and the groups table are that run's, byte for byte, the CSV is its table
    # (fit times aside) and the HTML embeds the PNG beside it
    for n in ["fairkit-compare.png", "fairkit-compare-groups.csv"]:
        assert now[n] == snap[key][n], n
    got, want = (pd.read_csv(io.BytesIO(v["fairkit-compare.csv"])).drop(columns="fit_time_s")
                 for v in (now, snap[key]))
    pd.testing.assert_frame_equal(got, want)
    assert _embedded_png(now["fairkit-compare.html"]) == now["fairkit-compare.png"]
    return key


def leftovers(folder, user_files=()):
    """Anything in the folder that is not the report, its store, or the user's own files."""
    extra = sorted(set(os.listdir(folder)) - set(NAMES) - {".fairkit-compare"}
                   - set(user_files))
    store = folder / ".fairkit-compare"
    if store.is_dir():
        keep = {"lock"}
        if os.path.islink(store / "current"):
            keep |= {"current", os.readlink(store / "current")}
        extra += sorted(set(os.listdir(store)) - keep)
    return extra


def start(state, folder, runs_calls, snap):
    """Put ``folder`` in a starting state; return what it shows."""
    folder.mkdir(parents=True, exist_ok=True)
    if state == "previous":  # a report of this version (A's, as publish(A) writes it)
        publish_bytes(snap["A"], folder)
    elif state.startswith("legacy"):  # plain files of an older fairkit, and a user's file
        names = NAMES if state == "legacy4" else [n for n in NAMES if "groups" not in n]
        for n in names:
            (folder / n).write_bytes(snap["A"][n])
        (folder / "notes.txt").write_text("mine")
    return shown(folder)


STATES = ["empty", "previous", "legacy4", "legacy3"]


# ------------------------------------------------------------------------------------------
# a kill or an interrupt at every file step
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["interrupt", "kill"])
@pytest.mark.parametrize("state", STATES)
def test_a_fault_at_every_file_step_shows_one_whole_report(runs, snap, tmp_path, state,
                                                           mode):
    calls, _ = runs
    # an interrupt hits the real report writer (figure, CSVs, HTML); a kill, which needs a
    # second run to tidy up after it, the publishing alone with a writer that copies the
    # same bytes in (fast; the real writer only adds opens inside its own run folder)
    if mode == "interrupt":
        def new(folder):
            publish(calls["B"], folder)
    else:
        def new(folder):
            publish_bytes(snap["B"], folder)
    # count the file steps of a fault-free run from this state
    before = start(state, tmp_path / "count" / "out", calls, snap)
    _FAULT.arm()
    try:
        new(tmp_path / "count" / "out")
    finally:
        _FAULT.disarm()
    steps = list(_FAULT.events)
    assert shown(tmp_path / "count" / "out") == snap["B"]
    assert len(steps) >= 10 and any(PUBLISH.match(s) for s in steps)

    outcome = []
    for k in range(1, len(steps) + 1):
        folder = tmp_path / f"k{k}" / "out"
        assert start(state, folder, calls, snap) == before
        _FAULT.arm(at=k, mode=mode)
        try:
            with pytest.raises((KeyboardInterrupt, _Killed)):
                new(folder)
        finally:
            _FAULT.disarm()
        assert _FAULT.events[k - 1] == steps[k - 1]  # the same step every time
        now = shown(folder)
        assert now in (before, snap["B"]), f"mixed report after a fault at {steps[k - 1]}"
        outcome.append("new" if now == snap["B"] else "old")
        user = ("notes.txt",) if state.startswith("legacy") else ()
        if mode == "interrupt":
            assert leftovers(folder, user) == [], steps[k - 1]
        else:
            # a killed run cannot tidy up; the next run does, and shows its own report
            publish_bytes(snap["A"], folder)
            assert shown(folder) == snap["A"] and leftovers(folder, user) == []
        if user:
            assert (folder / "notes.txt").read_text() == "mine"
        shutil.rmtree(folder)
    # the report changes at exactly one step: the rename of the link `current` to B's run
    switch = outcome.index("new")
    assert outcome == ["old"] * switch + ["new"] * (len(steps) - switch)
    assert PUBLISH.match(steps[switch - 1])


def test_an_interrupted_cli_run_keeps_the_previous_report(runs, tmp_path):
    # end to end: Ctrl-C at the publishing rename of a real `fairkit compare`
    _, csvs = runs
    _FAULT.arm()
    try:
        assert run(argv(csvs["B"], tmp_path))[0] == 0
    finally:
        _FAULT.disarm()
    before = shown(tmp_path)
    replaces = [i for i, s in enumerate(_FAULT.events, 1) if PUBLISH.match(s)]
    assert len(replaces) == 2  # a new folder: its (empty) state frozen, then B published
    _FAULT.arm()
    try:
        assert run(argv(csvs["A"], tmp_path))[0] == 0
    finally:
        _FAULT.disarm()
    after_a = shown(tmp_path)
    replaces = [i for i, s in enumerate(_FAULT.events, 1) if PUBLISH.match(s)]
    assert len(replaces) == 1 and after_a != before
    _FAULT.arm(at=replaces[0])
    try:
        with pytest.raises(KeyboardInterrupt):
            run(argv(csvs["B"], tmp_path))
    finally:
        _FAULT.disarm()
    # A's report is shown, whole; nothing of the interrupted run is left
    assert shown(tmp_path) == after_a and leftovers(tmp_path) == []


# ------------------------------------------------------------------------------------------
# races
# ------------------------------------------------------------------------------------------
def _one_line_error(capsys, folder):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("fairkit compare: error: --output ")
    assert str(folder) in err and "another fairkit compare" in err
    return err


def test_a_run_that_cannot_get_the_folder_fails_with_one_line(runs, snap, tmp_path,
                                                              monkeypatch, capsys):
    # forced interleaving: B starts publishing while A holds the folder (A has written its
    # files and is about to publish them); B waits, gives up, and says so in one line
    calls, csvs = runs
    folder = tmp_path / "out"
    start("previous", folder, calls, snap)
    start("previous", tmp_path / "count", calls, snap)
    monkeypatch.setattr(cc, "_REPORT_LOCK_TIMEOUT", 0.3)
    result = {}

    def race():
        result["B"] = run(argv(csvs["B"], folder))

    _FAULT.arm()
    try:
        publish(calls["A"], tmp_path / "count")
    finally:
        _FAULT.disarm()
    at = next(i for i, s in enumerate(_FAULT.events, 1) if PUBLISH.match(s))
    _FAULT.arm(at=at, action=race)
    try:
        assert publish(calls["A"], folder) == 0
    finally:
        _FAULT.disarm()
    status, text = result["B"]
    assert status == 2 and "wrote" not in text
    _one_line_error(capsys, folder)
    assert shown(folder) == snap["A"] and leftovers(folder) == []


def test_a_run_that_publishes_first_is_replaced_whole(runs, snap, tmp_path):
    # forced interleaving: B runs start to end between A's first file step and A's lock;
    # both win cleanly, one after the other, and the folder shows A's report, whole
    calls, csvs = runs
    result = {}

    def race():
        result["B"] = run(argv(csvs["B"], tmp_path))
        result["shown after B"] = shown(tmp_path)

    _FAULT.arm(at=1, action=race)
    try:
        assert publish(calls["A"], tmp_path) == 0
    finally:
        _FAULT.disarm()
    assert result["B"][0] == 0 and "wrote" in result["B"][1]
    assert assert_whole(result["shown after B"], snap) == "B"
    assert shown(tmp_path) == snap["A"] and leftovers(tmp_path) == []


def test_two_processes_racing_into_one_folder(runs, snap, tmp_path):
    # natural race: two `fairkit compare` processes started together on different data
    _, csvs = runs
    out = tmp_path / "shared"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    procs = [subprocess.Popen([sys.executable, "-m", "fairkit.cli", *argv(csvs[k], out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
             for k in "AB"]
    results = [(p.wait(timeout=300), *(s.read().decode() for s in (p.stdout, p.stderr)))
               for p in procs]
    for status, stdout, stderr in results:
        assert status in (0, 2), stderr
        if status == 2:
            assert len(stderr.strip().splitlines()) == 1 and "another fairkit" in stderr
        else:
            assert "wrote " in stdout
    assert any(status == 0 for status, _, _ in results)
    assert_whole(shown(out), snap)
    assert leftovers(out) == []


# ------------------------------------------------------------------------------------------
# failures
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("state", ["previous", "legacy4"])
def test_a_failure_while_writing_keeps_the_previous_report(runs, snap, tmp_path, state,
                                                           monkeypatch, capsys):
    # the groups CSV (the third of four files) cannot be written: disk full
    calls, csvs = runs
    before = start(state, tmp_path, calls, snap)
    original = pd.DataFrame.to_csv

    def to_csv(self, path=None, *args, **kwargs):
        if path is not None and str(path).endswith("-groups.csv"):
            raise OSError(28, "No space left on device")
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    capsys.readouterr()
    status, _ = run(argv(csvs["B"], tmp_path))
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "No space left" in err
    user = ("notes.txt",) if state == "legacy4" else ()
    assert shown(tmp_path) == before and leftovers(tmp_path, user) == []


def test_a_folder_in_the_way_is_one_line_and_changes_nothing(runs, snap, tmp_path, capsys):
    calls, csvs = runs
    before = start("legacy3", tmp_path, calls, snap)
    (tmp_path / "fairkit-compare-groups.csv").mkdir()
    status, text = run(argv(csvs["B"], tmp_path))
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert "fairkit-compare-groups.csv is a folder" in err
    before["fairkit-compare-groups.csv"] = None
    assert shown(tmp_path) == before and leftovers(tmp_path, ["notes.txt"]) == []


def test_an_output_that_is_a_file_is_one_line(runs, tmp_path, capsys):
    _, csvs = runs
    (tmp_path / "out").write_text("not a folder")
    status, _ = run(argv(csvs["B"], tmp_path / "out"))
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "cannot create the folder" in err


@pytest.mark.parametrize("missing", ["symlink", "flock"])
def test_without_links_or_locks_the_files_are_moved_in_one_by_one(runs, snap, tmp_path,
                                                                  monkeypatch, missing):
    # e.g. a FAT or SMB file system (no links) or a FUSE one without locks: the fallback
    # writes plain files, as before the swap (and as on Windows)
    import errno
    import fcntl

    calls, _ = runs
    start("legacy4", tmp_path, calls, snap)

    def refuse(*args, **kwargs):
        raise OSError(errno.EPERM if missing == "symlink" else errno.ENOLCK, "not here")

    monkeypatch.setattr(os if missing == "symlink" else fcntl, missing, refuse)
    publish(calls["B"], tmp_path)
    assert shown(tmp_path) == snap["B"]
    assert not any((tmp_path / n).is_symlink() for n in NAMES)
    assert leftovers(tmp_path, ["notes.txt"]) == []


def test_the_report_folder_can_be_moved_and_copied(runs, snap, tmp_path):
    calls, _ = runs
    publish(calls["A"], tmp_path / "a")
    os.rename(tmp_path / "a", tmp_path / "moved")
    shutil.copytree(tmp_path / "moved", tmp_path / "links", symlinks=True)
    shutil.copytree(tmp_path / "moved", tmp_path / "files")
    for name in ["moved", "links", "files"]:
        assert shown(tmp_path / name) == snap["A"], name
