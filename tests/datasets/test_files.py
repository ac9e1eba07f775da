"""Locating and verifying fairkit's data files."""

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from fairkit.datasets import ChecksumError, load_adult, load_compas, load_hmda
from fairkit.datasets._files import (
    bundled_data_dir,
    fetch_url,
    get_data_home,
    read_verified,
    sha256_file,
    verify_file,
)

DATA = Path(__file__).resolve().parents[2] / "datasets"


def _sums():
    lines = (DATA / "SHA256SUMS").read_text().splitlines()
    return dict(reversed(line.split()) for line in lines if line)


def test_bundled_dir_is_the_checkout_folder_here():
    root = bundled_data_dir()
    assert Path(str(root)).resolve() == DATA.resolve()


@pytest.mark.parametrize("name", sorted(_sums()))
def test_every_bundled_file_verifies(name):
    content = read_verified(name)
    assert hashlib.sha256(content).hexdigest() == _sums()[name]


def test_sha256_file_matches_hashlib():
    path = DATA / "adult" / "adult.names"
    assert sha256_file(path) == "c248284c0b5de30c9e1958d6cdd168a34a654758b620e68f46aefa83fc0a576a"
    assert verify_file(path, _sums()["adult/adult.names"]) == path
    with pytest.raises(ChecksumError, match="expected 0000"):
        verify_file(path, "0" * 64)
    with pytest.raises(FileNotFoundError):
        verify_file(path.with_name("nope"), "0" * 64)


def _copy_tree(tmp_path, name):
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DATA / name, target)
    target.chmod(0o644)
    return target


def test_data_home_with_good_copy_loads(tmp_path):
    _copy_tree(tmp_path, "hmda/hmda_sw.dta")
    X, y = load_hmda(variant="sw", data_home=tmp_path, return_X_y=True)
    assert X.shape == (2380, 57)


def test_env_var_points_to_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRKIT_DATA", str(tmp_path))
    assert get_data_home() == tmp_path
    with pytest.raises(FileNotFoundError, match="hmda/hmda_aer.dta"):
        load_hmda()


def test_corrupted_file_is_refused_with_both_hashes(tmp_path):
    target = _copy_tree(tmp_path, "hmda/hmda_aer.dta")
    content = bytearray(target.read_bytes())
    content[5000] ^= 0xFF  # flip one byte
    target.write_bytes(bytes(content))
    actual = hashlib.sha256(bytes(content)).hexdigest()
    with pytest.raises(ChecksumError) as err:
        load_hmda(data_home=tmp_path)
    msg = str(err.value)
    assert "hmda/hmda_aer.dta" in msg
    assert _sums()["hmda/hmda_aer.dta"] in msg
    assert actual in msg


def test_truncated_gzip_file_is_refused_before_parsing(tmp_path):
    target = _copy_tree(tmp_path, "adult/adult.data.gz")
    target.write_bytes(target.read_bytes()[:100_000])
    with pytest.raises(ChecksumError, match=r"adult/adult.data.gz.*100,000 bytes"):
        load_adult(data_home=tmp_path)


def test_truncated_csv_in_all_subset_nothing_half_loaded(tmp_path):
    # the train file is good, the test file truncated: "all" must fail as a whole
    _copy_tree(tmp_path, "adult/adult.data.gz")
    target = _copy_tree(tmp_path, "adult/adult.test.gz")
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(ChecksumError, match="adult/adult.test.gz"):
        load_adult(subset="all", data_home=tmp_path)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="compas/compas-scores-two-years-violent.csv.gz"):
        load_compas(violent=True, data_home=tmp_path)


def test_replaced_file_with_its_own_sums_is_still_refused(tmp_path):
    # expected digests come from fairkit's SHA256SUMS, not from the data_home folder
    target = tmp_path / "hmda" / "hmda_sw.dta"
    target.parent.mkdir()
    target.write_bytes(b"not a stata file")
    (tmp_path / "SHA256SUMS").write_text(
        hashlib.sha256(b"not a stata file").hexdigest() + "  hmda/hmda_sw.dta\n"
    )
    with pytest.raises(ChecksumError, match=_sums()["hmda/hmda_sw.dta"]):
        load_hmda(variant="sw", data_home=tmp_path)


def test_unknown_name_is_refused():
    with pytest.raises(ChecksumError, match="'adult/other.csv' has no entry in fairkit's "
                       "checksum list .*SHA256SUMS.*not a fairkit data file"):
        read_verified("adult/other.csv")


# --- a damaged or missing SHA256SUMS -------------------------------------------------------

GOOD_LINE = _sums()["adult/adult.names"] + "  adult/adult.names"


def _fake_bundle(tmp_path, monkeypatch, sums: bytes):
    """A bundled folder holding adult.names and the given SHA256SUMS bytes."""
    from fairkit.datasets import _files

    _copy_tree(tmp_path, "adult/adult.names")
    (tmp_path / "SHA256SUMS").write_bytes(sums)
    monkeypatch.setattr(_files, "bundled_data_dir", lambda: tmp_path)
    monkeypatch.delenv("FAIRKIT_DATA", raising=False)
    return tmp_path / "SHA256SUMS"


@pytest.mark.parametrize("sums, problem", [
    (f"{GOOD_LINE}\n\ngarbage\n".encode(), r"has a malformed line 3: 'garbage'"),
    (f"{GOOD_LINE}\n{'a' * 63}  adult/adult.data.gz\n".encode(), "has a malformed line 2"),
    (f"{GOOD_LINE}\n".encode() + b"\xe9\n", "has a non-ASCII byte 0xe9 on line 2"),
    (f"{GOOD_LINE}\n".encode("utf-16"), "has a non-ASCII byte 0xff on line 1"),
    (b"", "is empty"),
    (f"{GOOD_LINE}\n{'0' * 64}  adult/adult.names\n".encode(),
     r"lists 'adult/adult.names' twice with different digests \(line 2\)"),
])
def test_damaged_checksum_list_is_one_clear_error(tmp_path, monkeypatch, sums, problem):
    path = _fake_bundle(tmp_path, monkeypatch, sums)
    with pytest.raises(ChecksumError) as err:
        read_verified("adult/adult.names")
    msg = str(err.value)
    assert f"fairkit's checksum list {path} " in msg
    assert "The list is damaged; reinstall fairkit" in msg
    assert re.search(problem, msg), msg


def test_checksum_list_formats_that_sha256sum_writes_are_accepted(tmp_path, monkeypatch):
    digest = _sums()["adult/adult.names"]
    for sums in (f"{digest}  adult/adult.names\r\n", f"{digest} *adult/adult.names\n",
                 f"{digest.upper()} adult/adult.names"):
        _fake_bundle(tmp_path, monkeypatch, sums.encode())
        assert hashlib.sha256(read_verified("adult/adult.names")).hexdigest() == digest


def test_checksum_list_without_the_entry_names_the_data_file(tmp_path, monkeypatch):
    _fake_bundle(tmp_path, monkeypatch, f"{GOOD_LINE}\n".encode())
    _copy_tree(tmp_path, "adult/adult.data.gz")
    with pytest.raises(ChecksumError, match="'adult/adult.data.gz' has no entry in fairkit's "
                       "checksum list .*damaged or out of date"):
        load_adult(data_home=tmp_path)


def test_missing_checksum_list_does_not_advise_fairkit_data(tmp_path, monkeypatch):
    import fairkit

    monkeypatch.setattr(fairkit, "__file__", str(tmp_path / "fairkit" / "__init__.py"))
    monkeypatch.setenv("FAIRKIT_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"checksum list SHA256SUMS is missing.*"
                       r"Reinstall fairkit\. \(FAIRKIT_DATA or data_home cannot stand in"):
        read_verified("adult/adult.names")


def test_missing_data_file_message_follows_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRKIT_DATA", str(tmp_path / "mine"))
    with pytest.raises(FileNotFoundError) as err:
        read_verified("adult/adult.names")
    msg = str(err.value)
    assert f"FAIRKIT_DATA is set to {str(tmp_path / 'mine')!r}" in msg
    assert "unset FAIRKIT_DATA" in msg and "set FAIRKIT_DATA (or" not in msg
    with pytest.raises(FileNotFoundError) as err:
        read_verified("adult/adult.names", data_home=tmp_path / "other")
    msg = str(err.value)
    assert f"the data_home folder {str(tmp_path / 'other')!r}" in msg
    assert "FAIRKIT_DATA" not in msg
    # nothing set: the bundled copy is gone, so reinstalling or FAIRKIT_DATA is the advice
    from fairkit.datasets import _files

    monkeypatch.delenv("FAIRKIT_DATA")
    (tmp_path / "SHA256SUMS").write_bytes((DATA / "SHA256SUMS").read_bytes())
    monkeypatch.setattr(_files, "bundled_data_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match=r"bundled data folder .* reinstall the "
                       r"package, or set FAIRKIT_DATA \(or data_home\)"):
        read_verified("adult/adult.names")


# --- downloads (file:// URLs only; no network) --------------------------------------------


def test_fetch_url_file_scheme_checks_and_caches(tmp_path):
    src = tmp_path / "src" / "lar.csv"
    src.parent.mkdir()
    src.write_bytes(b"a,b\n1,2\n")
    digest = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    cache = tmp_path / "cache"
    path = fetch_url(src.as_uri(), sha256=digest, cache_dir=cache)
    assert path == cache / "lar.csv" and path.read_bytes() == b"a,b\n1,2\n"
    src.unlink()  # second call must use the cache, not the URL
    assert fetch_url(src.as_uri(), sha256=digest, cache_dir=cache) == path


def test_fetch_url_wrong_checksum_leaves_no_file(tmp_path):
    src = tmp_path / "x.csv"
    src.write_bytes(b"hello")
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match="x.csv"):
        fetch_url(src.as_uri(), sha256="0" * 64, cache_dir=cache)
    assert list(cache.iterdir()) == []


def test_fetch_url_refetches_corrupted_cache(tmp_path):
    src = tmp_path / "x.csv"
    src.write_bytes(b"good")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "x.csv").write_bytes(b"bad")
    path = fetch_url(src.as_uri(), sha256=hashlib.sha256(b"good").hexdigest(), cache_dir=cache)
    assert path.read_bytes() == b"good"


def test_fetch_url_without_checksum_warns_with_digest(tmp_path):
    src = tmp_path / "x.csv"
    src.write_bytes(b"abc")
    with pytest.warns(UserWarning, match=hashlib.sha256(b"abc").hexdigest()):
        fetch_url(src.as_uri(), cache_dir=tmp_path / "c")


def test_fetch_url_rejects_other_schemes(tmp_path):
    with pytest.raises(ValueError, match="ftp://x/y"):
        fetch_url("ftp://x/y", sha256="0" * 64, cache_dir=tmp_path)


def test_installed_package_data_is_preferred(tmp_path, monkeypatch):
    # Simulate a wheel install: a fairkit._data package next to fairkit's modules.
    import sys

    import fairkit

    pkg = tmp_path / "_data"
    (pkg / "hmda").mkdir(parents=True)
    shutil.copyfile(DATA / "SHA256SUMS", pkg / "SHA256SUMS")
    shutil.copyfile(DATA / "hmda" / "hmda_sw.dta", pkg / "hmda" / "hmda_sw.dta")
    monkeypatch.setattr(fairkit, "__path__", [*fairkit.__path__, str(tmp_path)])
    monkeypatch.delenv("FAIRKIT_DATA", raising=False)
    sys.modules.pop("fairkit._data", None)
    try:
        root = bundled_data_dir()
        assert Path(str(root.joinpath("SHA256SUMS"))).parent == pkg
        assert load_hmda(variant="sw").data.shape == (2380, 57)
        with pytest.raises(FileNotFoundError, match="hmda/hmda_aer.dta"):
            load_hmda(variant="aer")  # not in this "wheel": no silent fallback to the checkout
    finally:
        sys.modules.pop("fairkit._data", None)
        if hasattr(fairkit, "_data"):
            delattr(fairkit, "_data")
