"""Fault injection for read_lar / lar_group_counts: truncated, ragged, mis-encoded and
damaged LAR files give the complete correct rows or a LARFormatError naming the line.

Expected rows come from the csv module on the intact bytes (independent of pandas), line
numbers from counting newlines in the injected bytes.
"""

import csv
import gzip
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairkit.datasets import LARFormatError, filter_lar, lar_group_counts, read_lar
from fairkit.datasets import lar as lar_module

FIXTURE = Path(__file__).resolve().parents[2] / "datasets" / "hmda" / "lar_2020_ny_one_lender.csv"
LINES = FIXTURE.read_bytes().split(b"\n")  # LINES[0] header, LINES[-1] == b"" (final \n)
HEADER = LINES[0]
N_FIELDS = HEADER.count(b",") + 1  # 99


def _sample(n_rows, rows=None):
    rows = LINES[1:n_rows + 1] if rows is None else rows
    return b"\n".join([HEADER, *rows]) + b"\n"


def _raw(data: bytes):
    """Rows as dicts of strings, read with the csv module."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _check_rows(frame, raw_rows):
    """read_lar's common columns against the raw strings of the same rows."""
    assert len(frame) == len(raw_rows)
    for col, src, scale in (("loan_amount", "loan_amount", 1.0), ("income", "income", 1.0),
                            ("property_value", "property_value", 1.0)):
        want = [np.nan if r[src] in ("NA", "Exempt", "") else float(r[src]) * scale
                for r in raw_rows]
        np.testing.assert_array_equal(frame[col].to_numpy(dtype=float), want)
    assert frame["action_taken"].tolist() == [int(r["action_taken"]) for r in raw_rows]
    sex = {"1": "Male", "2": "Female", "3": "Not provided", "4": "Not applicable",
           "6": "Both selected"}
    assert frame["sex"].tolist() == [sex[r["applicant_sex"]] for r in raw_rows]
    assert frame["race"].notna().all() and frame["census_tract"].tolist() == [
        r["census_tract"] for r in raw_rows]


# ----------------------------------------------------------------- truncation sweep

SMALL = _sample(6)


def _expected_outcome(cut: bytes):
    """(n_rows, None) when the cut leaves complete rows, else (None, line to be named)."""
    newlines = cut.count(b"\n")
    if newlines == 0:
        return None, (None if not cut else 1)  # empty file, or cut inside the header
    tail = cut[cut.rfind(b"\n") + 1:]
    if not tail:
        return newlines - 1, None
    fields = tail.split(b",")
    if len(fields) == N_FIELDS and fields[-1]:
        # cut inside the last field (tract_median_age_of_housing_units), not a common
        # column: the row's common columns are complete
        return newlines, None
    return None, newlines + 1


@pytest.mark.parametrize("block", [1 << 23, 61])
def test_truncation_at_every_offset_is_complete_rows_or_named_line(tmp_path, monkeypatch,
                                                                   block):
    monkeypatch.setattr(lar_module, "_BLOCK", block)  # 61: lines split between reads
    raw = _raw(SMALL)
    offsets = sorted(set(range(0, len(SMALL) + 1, 13)) | {
        i + d for i in range(len(SMALL)) if SMALL[i:i + 1] == b"\n" for d in (-2, -1, 0, 1)
    } | {len(SMALL) - 1, len(SMALL)})
    outcomes = {"rows": 0, "error": 0}
    for k in offsets:
        cut = SMALL[:k]
        path = _write(tmp_path, "cut.csv", cut)
        n_rows, line = _expected_outcome(cut)
        if n_rows is not None:
            _check_rows(read_lar(path), raw[:n_rows])
            outcomes["rows"] += 1
        else:
            with pytest.raises(LARFormatError) as err:
                read_lar(path)
            assert err.value.line == line, (k, str(err.value))
            assert str(path) in str(err.value)
            if line is not None and line > 1:
                assert f"line {line}" in str(err.value) and "truncated" in str(err.value)
            outcomes["error"] += 1
    assert outcomes["rows"] >= 7 + 6 and outcomes["error"] > 100


def test_file_cut_in_half_is_an_error_not_nan_rows(tmp_path):
    # the case: the whole fixture cut at half its size (was 142 rows, NaN income)
    data = FIXTURE.read_bytes()
    cut = data[:len(data) // 2]
    path = _write(tmp_path, "half.csv", cut)
    line = cut.count(b"\n") + 1
    with pytest.raises(LARFormatError, match=rf"line {line}: the file ends on this line, "
                       rf"without a newline, after \d+ of 99 fields: the file is truncated"):
        read_lar(path)
    with pytest.raises(LARFormatError, match=f"line {line}"):
        lar_group_counts(path, by=["race", "sex"], chunksize=50)
    with pytest.raises(LARFormatError, match=f"line {line}"):
        sum(len(c) for c in read_lar(path, chunksize=30))
    # skipping does not hide a truncated file
    with pytest.raises(LARFormatError, match=f"line {line}"):
        read_lar(path, on_bad_lines="skip")


def test_cut_inside_loan_amount_is_an_error(tmp_path):
    # loan_amount 255000.0 cut to 25500: the row stops there, so it is short
    row = LINES[-2]
    assert row.split(b",")[21] == b"255000.0"
    start = row.index(b",255000.0,") + len(b",25500")
    data = b"\n".join(LINES[:-2]) + b"\n" + row[:start]
    path = _write(tmp_path, "cut.csv", data)
    with pytest.raises(LARFormatError, match=r"line 289: .* after 22 of 99 fields"):
        read_lar(path)


def test_cut_right_after_a_separator_of_the_last_field(tmp_path):
    row = LINES[1]
    data = _sample(0) + row[:row.rindex(b",") + 1]  # 99 fields, the last one empty
    with pytest.raises(LARFormatError, match=r"line 2: .*99 of 99 fields \(the last one empty"):
        read_lar(_write(tmp_path, "cut.csv", data))


def test_header_only_and_empty_files(tmp_path):
    with pytest.raises(LARFormatError, match="ends inside its header line"):
        read_lar(_write(tmp_path, "h.csv", HEADER))
    with pytest.raises(LARFormatError, match="is empty"):
        read_lar(_write(tmp_path, "e.csv", b""))
    assert len(read_lar(_write(tmp_path, "ok.csv", HEADER + b"\n"))) == 0


# ----------------------------------------------------------------- gzip / zip damage


def test_truncated_gzip_is_an_error_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(lar_module, "_BLOCK", 4096)
    data = FIXTURE.read_bytes()
    packed = gzip.compress(data)
    intact = _write(tmp_path, "lar.csv.gz", packed)
    _check_rows(read_lar(intact), _raw(data))
    for k in (5, 20, len(packed) // 3, len(packed) // 2, len(packed) - 9, len(packed) - 1):
        path = _write(tmp_path, f"cut{k}.csv.gz", packed[:k])
        with pytest.raises(LARFormatError) as err:
            read_lar(path)
        msg = str(err.value)
        assert f"LAR file {str(path)!r}" in msg, msg
        assert "truncated" in msg, msg
        assert not isinstance(err.value.__cause__, EOFError)  # one clear error, no chain
    # a cut in the second half: the line named is past the rows read whole
    path = tmp_path / f"cut{len(packed) - 9}.csv.gz"
    with pytest.raises(LARFormatError, match="end-of-stream marker, at or after this line"
                       ) as err:
        lar_group_counts(path, chunksize=50)
    assert err.value.line > 200


def test_damaged_gzip_and_zip(tmp_path):
    data = FIXTURE.read_bytes()
    packed = bytearray(gzip.compress(data))
    packed[len(packed) // 2] ^= 0xFF
    with pytest.raises(LARFormatError, match=r"gzip data cannot be read|truncated|damaged"):
        read_lar(_write(tmp_path, "bad.csv.gz", bytes(packed)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("lar.csv", data)
    zipped = buf.getvalue()
    _check_rows(read_lar(_write(tmp_path, "ok.zip", zipped)), _raw(data))
    with pytest.raises(LARFormatError, match="damaged or truncated"):
        read_lar(_write(tmp_path, "cut.zip", zipped[: len(zipped) // 2]))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.csv", data)
        zf.writestr("b.csv", data)
    with pytest.raises(LARFormatError, match="holds 2 files"):
        read_lar(_write(tmp_path, "two.zip", buf.getvalue()))


# ----------------------------------------------------------------- ragged rows


def _with_row(index, new_row, n_rows=12):
    rows = list(LINES[1:n_rows + 1])
    rows[index] = new_row
    return _sample(n_rows, rows)


def test_short_row_raises_with_line_number(tmp_path):
    short = b",".join(LINES[10].split(b",")[:50])  # 50 of 99 fields, data row 10 = line 11
    path = _write(tmp_path, "short.csv", _with_row(9, short))
    with pytest.raises(LARFormatError, match=r"line 11: has 50 fields where the header has 99"
                       ) as err:
        read_lar(path)
    assert err.value.line == 11 and "on_bad_lines='skip'" in str(err.value)
    with pytest.raises(LARFormatError, match="line 11"):
        lar_group_counts(path, by=["race", "sex"])
    with pytest.raises(LARFormatError, match="line 11"):
        filter_lar(path, {"loan_purpose": 1})


@pytest.mark.parametrize("index", [0, 5])
def test_unquoted_comma_raises_instead_of_shifting_fields(tmp_path, index):
    # derived_race "White" -> "White, Asian" without quotes: 100 fields, everything after
    # it shifts by one (was: "action_taken has non-code values ['Male']" or an index shift)
    row = LINES[index + 1]
    assert b",White,Male," in row
    bad = row.replace(b",White,Male,", b",White, Asian,Male,", 1)
    path = _write(tmp_path, "comma.csv", _with_row(index, bad))
    with pytest.raises(LARFormatError, match=rf"line {index + 2}: has 100 fields where the "
                       r"header has 99: a value holds an unquoted ','"):
        read_lar(path)


def test_quoted_comma_is_a_value_and_unbalanced_quote_an_error(tmp_path):
    row = LINES[1].replace(b",White,Male,", b',"White, Asian",Male,', 1)
    out = read_lar(_write(tmp_path, "quoted.csv", _with_row(0, row)), columns="all")
    assert out["derived_race"].iloc[0] == "White, Asian"
    _check_rows(out, _raw(_sample(12)))
    # quotes around a comma hide one missing field from a plain comma count
    short = b",".join(row.split(b",")[:-1])  # drops the last field: 98 fields
    with pytest.raises(LARFormatError, match="line 2: has 98 fields"):
        read_lar(_write(tmp_path, "qs.csv", _with_row(0, short)))
    bad = LINES[3].replace(b",White,", b',"White,', 1)
    with pytest.raises(LARFormatError, match=r"line 4: has an unbalanced double quote"):
        read_lar(_write(tmp_path, "unbalanced.csv", _with_row(2, bad)))


def test_skip_drops_and_counts_ragged_rows(tmp_path):
    rows = list(LINES[1:289])
    short = b",".join(rows[10].split(b",")[:50])
    long = rows[40].replace(b"SIVTHG", b"SIVT,HG", 1)  # a comma inside the LEI
    assert long != rows[40]
    kept = [r for i, r in enumerate(rows) if i not in (10, 40)]
    rows[10], rows[40] = short, long
    path = _write(tmp_path, "ragged.csv", _sample(288, rows))
    with pytest.warns(UserWarning, match=r"skipped 2 line\(s\) whose number of fields "
                      r"differs from the header's 99 \(on_bad_lines='skip'\): lines "
                      r"12 \(50 fields\), 42 \(100 fields\)\."):
        out = read_lar(path, on_bad_lines="skip")
    _check_rows(out, _raw(_sample(286, kept)))
    with pytest.warns(UserWarning, match="skipped 2 line"):
        counts = lar_group_counts(path, by="sex", on_bad_lines="skip", chunksize=25)
    assert counts["applications"].sum() == 286
    want = pd.Series([r["applicant_sex"] for r in _raw(_sample(286, kept))]).value_counts()
    assert counts.loc["Male", "applications"] == want["1"]
    with pytest.raises(LARFormatError, match="line 12"):
        lar_group_counts(path, by="sex")  # the default stays strict


def test_skip_warning_lists_the_first_ten(tmp_path):
    rows = [b",".join(r.split(b",")[:98]) if i % 10 == 3 else r
            for i, r in enumerate(LINES[1:289])]
    path = _write(tmp_path, "many.csv", _sample(288, rows))
    with pytest.warns(UserWarning) as rec:
        out = read_lar(path, on_bad_lines="skip", chunksize=64)
        n = sum(len(c) for c in out)
    assert n == 288 - 29
    msg = str(rec[0].message)
    assert "skipped 29 line(s)" in msg and "and 19 more" in msg
    assert "lines 5 (98 fields), 15 (98 fields)" in msg


def test_on_bad_lines_is_checked():
    with pytest.raises(ValueError, match="on_bad_lines must be 'error' or 'skip', got 'warn'"):
        read_lar(FIXTURE, on_bad_lines="warn")


def test_blank_lines_are_not_rows_and_keep_line_numbers(tmp_path):
    rows = list(LINES[1:6])
    data = b"\n".join([HEADER, rows[0], b"", rows[1], b"\r", rows[2], rows[3], rows[4]]) + b"\n\n"
    _check_rows(read_lar(_write(tmp_path, "blank.csv", data)), _raw(_sample(5)))
    data = data.replace(rows[3], b",".join(rows[3].split(b",")[:3]))
    with pytest.raises(LARFormatError, match="line 7: has 3 fields"):
        read_lar(_write(tmp_path, "blank2.csv", data))


def test_pipe_delimited_ragged_row(tmp_path):
    data = _sample(5).replace(b",", b"|")
    _check_rows(read_lar(_write(tmp_path, "pipe.txt", data)), _raw(_sample(5)))
    lines = data.split(b"\n")
    lines[3] = lines[3] + b"|extra"
    with pytest.raises(LARFormatError, match=r"line 4: has 100 fields .* unquoted '\|'"):
        read_lar(_write(tmp_path, "pipe2.txt", b"\n".join(lines)))


# ----------------------------------------------------------------- encodings


def test_utf16_is_an_error_at_line_one(tmp_path):
    text = _sample(5).decode()
    for data in (text.encode("utf-16"), text.encode("utf-16-le"), text.encode("utf-16-be")):
        with pytest.raises(LARFormatError, match=r"line 1: the file is UTF-16 text") as err:
            read_lar(_write(tmp_path, "u16.csv", data))
        assert str(tmp_path / "u16.csv") in str(err.value)


@pytest.mark.parametrize("block", [1 << 23, 200])
def test_latin1_byte_names_its_line(tmp_path, monkeypatch, block):
    monkeypatch.setattr(lar_module, "_BLOCK", block)
    rows = list(LINES[1:21])
    rows[14] = rows[14].replace(b"Conventional", b"Conv\xe9ntional", 1)  # line 16
    path = _write(tmp_path, "latin1.csv", _sample(20, rows))
    with pytest.raises(LARFormatError, match=r"line 16: byte 0xe9 at character \d+ is not "
                       "valid UTF-8") as err:
        list(read_lar(path, chunksize=4))
    assert err.value.line == 16
    column = int(str(err.value).split("at character ")[1].split()[0])
    assert rows[14][column - 1:column] == b"\xe9"


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    data = _sample(8)
    want = _raw(data)
    _check_rows(read_lar(_write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + data)), want)
    crlf = data.replace(b"\n", b"\r\n")
    out = read_lar(_write(tmp_path, "crlf.csv", crlf), columns="all")
    _check_rows(out, want)
    assert out["tract_median_age_of_housing_units"].tolist() == [
        r["tract_median_age_of_housing_units"] for r in want]


def test_nul_bytes_are_an_error(tmp_path):
    data = _sample(6) + b"\x00" * 300  # a file pre-allocated and never filled
    with pytest.raises(LARFormatError, match=r"line 8: the line holds NUL bytes"):
        read_lar(_write(tmp_path, "nul.csv", data))


# ----------------------------------------------------------------- values


def test_bad_value_names_its_line(tmp_path):
    rows = list(LINES[1:30])
    fields = rows[22].split(b",")
    assert HEADER.split(b",")[45] == b"income"
    fields[45] = b"lots"  # data row 23 = line 24
    rows[22] = b",".join(fields)
    path = _write(tmp_path, "value.csv", _sample(29, rows))
    with pytest.raises(LARFormatError, match=r"line 24: LAR column 'income' has non-numeric "
                       r"values \['lots'\]"):
        list(read_lar(path, chunksize=10))
    names = HEADER.decode().split(",")
    fields[45] = b"151"
    fields[names.index("applicant_sex")] = b"9"  # a code, but no sex has code 9
    rows[22] = b",".join(fields)
    with pytest.raises(LARFormatError, match=r"line 24: LAR column 'applicant_sex' has unknown "
                       r"codes \[9\]"):
        read_lar(_write(tmp_path, "code.csv", _sample(29, rows)))


def test_error_is_a_picklable_value_error(tmp_path):
    err = LARFormatError("x.csv", 7, "has 3 fields.")
    assert isinstance(err, ValueError) and str(err) == "LAR file 'x.csv', line 7: has 3 fields."
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.line, str(again)) == ("x.csv", 7, str(err))


# ----------------------------------------------------------------- the CLI path


def test_cli_audit_lar_gives_one_line_errors(tmp_path, capsys):
    from fairkit.cli import main

    data = FIXTURE.read_bytes()
    cases = {
        "half.csv": data[: len(data) // 2],
        "short.csv": _with_row(4, b",".join(LINES[5].split(b",")[:50]), n_rows=40),
        "u16.csv": data.decode().encode("utf-16"),
        "cut.csv.gz": gzip.compress(data)[:5000],
    }
    for name, payload in cases.items():
        path = _write(tmp_path, name, payload)
        assert main(["audit", "--lar", str(path)]) == 2, name
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("fairkit audit: error: --lar"), err
        assert "LAR file" in err and "line" in err, err
