"""read_lar and its chunk reducers on the real 2020 format fixture and on 2007-2017 files."""

import csv
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairkit.datasets import ChecksumError, _files, filter_lar, lar_group_counts, read_lar
from fairkit.datasets.lar import LAR_COMMON_COLUMNS, detect_lar_schema

FIXTURE = Path(__file__).resolve().parents[2] / "datasets" / "hmda" / "lar_2020_ny_one_lender.csv"
FIXTURE_SHA = "47ec25b17b231214b13a23fa2fa49cf810860448f80e2d67711eb45447d0e223"

HEADER_2007 = (
    "as_of_year,respondent_id,agency_code,loan_type,property_type,loan_purpose,"
    "owner_occupancy,loan_amount_000s,preapproval,action_taken,msamd,state_code,county_code,"
    "census_tract_number,applicant_ethnicity,co_applicant_ethnicity,applicant_race_1,"
    "applicant_race_2,applicant_race_3,applicant_race_4,applicant_race_5,co_applicant_race_1,"
    "co_applicant_race_2,co_applicant_race_3,co_applicant_race_4,co_applicant_race_5,"
    "applicant_sex,co_applicant_sex,applicant_income_000s,purchaser_type,denial_reason_1,"
    "denial_reason_2,denial_reason_3,rate_spread,hoepa_status,lien_status,edit_status,"
    "sequence_number,population,minority_population,hud_median_family_income,"
    "tract_to_msamd_income,number_of_owner_occupied_units,number_of_1_to_4_family_units,"
    "application_date_indicator"
).split(",")

# (action_taken, race_1, ethnicity, sex, loan_amount_000s, income_000s, rate_spread)
ROWS_2007 = [
    ("1", "5", "2", "1", "250", "80", ""),
    ("3", "3", "2", "2", "120", "45", ""),
    ("3", "5", "1", "2", "300", "NA", ""),
    ("4", "2", "2", "1", "150", "60", ""),
    ("7", "3", "1", "1", "90", "30", ""),
    ("8", "6", "3", "3", "200", "100", "2.35"),
    ("2", "3", "2", "1", "175", "70", ""),
]


def _write_2007(path, rows=ROWS_2007, sep=","):
    lines = []
    for i, (action, race, eth, sex, amount, income, spread) in enumerate(rows):
        rec = dict.fromkeys(HEADER_2007, "")
        rec.update(as_of_year="2012", respondent_id="0000012345", agency_code="1",
                   loan_type="1", property_type="1", loan_purpose="1", owner_occupancy="1",
                   loan_amount_000s=amount, preapproval="3", action_taken=action,
                   msamd="10180", state_code="01", county_code="001",
                   census_tract_number="0101.00", applicant_ethnicity=eth,
                   co_applicant_ethnicity="5", applicant_race_1=race, co_applicant_race_1="8",
                   applicant_sex=sex, co_applicant_sex="5", applicant_income_000s=income,
                   purchaser_type="0", rate_spread=spread, hoepa_status="2", lien_status="1",
                   sequence_number=str(i + 1))
        lines.append(sep.join(rec[c] for c in HEADER_2007))
    text = sep.join(HEADER_2007) + "\n" + "\n".join(lines) + "\n"
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture(scope="module")
def raw():
    """The fixture as plain strings, read with the csv module (independent of pandas)."""
    with open(FIXTURE, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def lar():
    return read_lar(FIXTURE, sha256=FIXTURE_SHA)


# ----------------------------------------------------------------- 2018+ fixture


def test_fixture_shape_and_schema(lar, raw):
    assert len(raw) == 288
    assert detect_lar_schema(raw[0].keys()) == "2018+"
    assert lar.shape == (288, len(LAR_COMMON_COLUMNS))
    assert list(lar.columns) == LAR_COMMON_COLUMNS
    assert (lar["year"] == 2020).all() and (lar["lender"] == "2549005SIVTHG14U2905").all()


def test_fixture_target_matches_action_taken(lar, raw):
    actions = [int(r["action_taken"]) for r in raw]
    # action_taken in the file: 122 originated, 39 approved, 83 denied, 36 withdrawn, 8 incomplete
    assert np.bincount(actions).tolist() == [0, 122, 39, 83, 36, 8]
    assert int(lar["denied"].sum()) == 83
    assert int(lar["denied"].count()) == 122 + 39 + 83
    assert lar.loc[lar["action_taken"].isin([4, 5]), "denied"].isna().all()


def test_fixture_protected_attributes(lar, raw):
    # applicant_race-1 codes: 5 x198, 6 x37, 2 x25, 3 x25, 22 x1, 27 x1, 1 x1; one of the
    # 198 White applicants also reports 27 (Asian) in applicant_race-2 and is Asian by the
    # CFPB rule (one minority race with White -> that race), as derived_race says
    assert lar["race"].value_counts().to_dict() == {
        "White": 197, "Not provided": 37, "Asian": 28, "Black or African American": 25,
        "American Indian or Alaska Native": 1, "Native Hawaiian or Other Pacific Islander": 0,
        "Not applicable": 0, "2 or more minority races": 0,
    }
    # agrees with the Data Browser's own derived_race for single-race applicants
    derived = pd.Series([r["derived_race"] for r in raw])
    for label in ("White", "Asian", "Black or African American"):
        assert (lar.loc[derived == label, "race"] == label).all()
    assert lar["ethnicity"].value_counts()["Hispanic or Latino"] == 38
    assert lar["sex"].value_counts()[["Male", "Female", "Not provided"]].tolist() == [198, 69, 21]


def test_fixture_values_and_missing(lar, raw):
    first = lar.iloc[0]
    assert first["loan_amount"] == 175000.0 and first["income"] == 151.0
    assert first["census_tract"] == "36111951800" and first["county_code"] == "36111"
    assert first["debt_to_income_ratio"] == "20%-<30%"
    n_na_rate = sum(r["interest_rate"] == "NA" for r in raw)
    assert n_na_rate == 127 and lar["interest_rate"].isna().sum() == 127
    # blank cells (lender_credits) count as missing too, in columns="all"
    full = read_lar(FIXTURE, columns="all")
    normalised = {c.replace("-", "_") for c in raw[0]}
    assert set(full.columns) == normalised | set(LAR_COMMON_COLUMNS)
    assert len(full.columns) == len(set(full.columns))
    assert full["lender_credits"].isna().sum() == 0  # kept verbatim as text in "all" mode
    assert sum(r["lender_credits"] == "" for r in raw) == 67


def test_chunks_concatenate_to_whole(lar):
    chunks = list(read_lar(FIXTURE, chunksize=50))
    assert [len(c) for c in chunks] == [50, 50, 50, 50, 50, 38]
    pd.testing.assert_frame_equal(pd.concat(chunks), lar)


def test_group_counts_match_raw(raw):
    counts = lar_group_counts(FIXTURE, by="race", chunksize=40)
    white = [r for r in raw if r["applicant_race-1"] == "5" and r["applicant_race-2"] == ""]
    decided = [r for r in white if r["action_taken"] in {"1", "2", "3"}]
    denied = [r for r in white if r["action_taken"] == "3"]
    assert counts.loc["White", "applications"] == len(white) == 197
    assert counts.loc["White", "decided"] == len(decided)
    assert counts.loc["White", "denied"] == len(denied)
    assert counts.loc["White", "denial_rate"] == pytest.approx(len(denied) / len(decided))
    assert counts["applications"].sum() == 288
    # two keys and a filter: home purchase (loan_purpose 1) only
    both = lar_group_counts(FIXTURE, by=["race", "sex"], where={"loan_purpose": 1},
                            chunksize=100)
    purchase = [r for r in raw if r["loan_purpose"] == "1"]
    assert both["applications"].sum() == len(purchase)
    wm = [r for r in purchase if r["applicant_race-1"] == "5" and r["applicant_race-2"] == ""
          and r["applicant_sex"] == "1"]
    assert both.loc[("White", "Male"), "applications"] == len(wm)


def test_filter_lar(raw):
    kings = filter_lar(FIXTURE, {"county_code": "36047"}, chunksize=64)
    assert len(kings) == sum(r["county_code"] == "36047" for r in raw) == 57
    big = filter_lar(FIXTURE, lambda f: f["loan_amount"] > 1_000_000, chunksize=64)
    assert len(big) == sum(float(r["loan_amount"]) > 1_000_000 for r in raw)


def test_exempt_na_and_blank_become_missing(tmp_path, raw):
    with open(FIXTURE, newline="") as fh:
        header = next(csv.reader(fh))
    rows = [dict(r) for r in raw[:4]]
    rows[0]["rate_spread"] = "Exempt"
    rows[1]["income"] = "NA"
    rows[2]["interest_rate"] = ""
    rows[3]["loan_type"] = "Exempt"
    path = tmp_path / "exempt.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    out = read_lar(path)
    assert np.isnan(out["rate_spread"].iloc[0]) and np.isnan(out["income"].iloc[1])
    assert np.isnan(out["interest_rate"].iloc[2]) and out["loan_type"].isna().iloc[3]
    assert out["income"].iloc[0] == float(raw[0]["income"])
    rows[0]["income"] = "lots"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValueError, match=r"'income' has non-numeric values \['lots'\]"):
        read_lar(path)


# ----------------------------------------------------------------- 2007-2017 schema


def test_2007_schema_mapping(tmp_path):
    out = read_lar(_write_2007(tmp_path / "hmda_2012.csv"))
    assert out.shape == (7, len(LAR_COMMON_COLUMNS))
    assert out["year"].tolist() == [2012] * 7
    assert out["action_taken"].tolist() == [1, 3, 3, 4, 7, 8, 2]
    assert out["denied"].tolist() == [0, 1, 1, pd.NA, 1, 0, 0]
    assert out["race"].tolist() == ["White", "Black or African American", "White", "Asian",
                                    "Black or African American", "Not provided",
                                    "Black or African American"]
    assert out["ethnicity"].tolist()[:3] == ["Not Hispanic or Latino", "Not Hispanic or Latino",
                                             "Hispanic or Latino"]
    assert out["sex"].tolist()[:2] == ["Male", "Female"]
    assert out["co_applicant_race"].iloc[0] == "No co-applicant"
    assert out["loan_amount"].tolist() == [250e3, 120e3, 300e3, 150e3, 90e3, 200e3, 175e3]
    assert out["income"].iloc[0] == 80.0 and np.isnan(out["income"].iloc[2])
    assert np.isnan(out["rate_spread"].iloc[0]) and out["rate_spread"].iloc[5] == 2.35
    assert out["census_tract"].iloc[0] == "0101.00" and out["county_code"].iloc[0] == "001"
    assert out["applicant_age"].isna().all() and out["lender"].iloc[0] == "0000012345"


def test_multi_race_derivation(tmp_path):
    path = _write_2007(tmp_path / "races.csv", rows=[("1", "5", "2", "1", "1", "1", "")] * 4)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[0, "applicant_race_2"] = "3"  # White + Black -> Black
    frame.loc[1, ["applicant_race_1", "applicant_race_2"]] = ["2", "3"]  # two minorities
    frame.loc[2, ["applicant_race_1", "applicant_race_2"]] = ["3", "3"]  # same race twice
    frame.loc[3, "applicant_race_1"] = "7"  # not applicable
    frame.to_csv(path, index=False)
    assert read_lar(path)["race"].tolist() == [
        "Black or African American", "2 or more minority races", "Black or African American",
        "Not applicable",
    ]


def test_2007_group_counts_by_hand(tmp_path):
    path = _write_2007(tmp_path / "lar.csv")
    counts = lar_group_counts(path, by="race", chunksize=2)
    black = counts.loc["Black or African American"]
    # Black rows: actions 3, 7, 2 -> 3 decided, 2 denied
    assert black[["applications", "decided", "denied"]].tolist() == [3, 3, 2]
    assert black["denial_rate"] == pytest.approx(2 / 3)
    # White: actions 1, 3 -> 1 of 2; Asian: withdrawn only -> no decision, rate NaN
    assert counts.loc["White", "denial_rate"] == pytest.approx(0.5)
    assert np.isnan(counts.loc["Asian", "denial_rate"])


def test_2007_pipe_and_gzip(tmp_path):
    plain = read_lar(_write_2007(tmp_path / "a.csv"))
    pd.testing.assert_frame_equal(read_lar(_write_2007(tmp_path / "b.txt", sep="|")), plain)
    pd.testing.assert_frame_equal(read_lar(_write_2007(tmp_path / "c.csv.gz")), plain)
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:  # CFPB ships zipped CSVs
        zf.write(tmp_path / "a.csv", "hmda_2012_lar.csv")
    pd.testing.assert_frame_equal(read_lar(tmp_path / "d.zip"), plain)


def test_same_common_columns_for_both_schemas(tmp_path, lar):
    old = read_lar(_write_2007(tmp_path / "a.csv"))
    assert list(old.columns) == list(lar.columns)
    for col in ("race", "ethnicity", "sex"):
        assert list(old[col].cat.categories) == list(lar[col].cat.categories)
    pd.concat([old, lar])  # concatenates without dtype clashes


# ----------------------------------------------------------------- download, cache, checksum


def test_url_download_into_cache_with_checksum(tmp_path):
    (tmp_path / "remote").mkdir()
    src = _write_2007(tmp_path / "remote" / "lar.csv")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    out = read_lar(src.as_uri(), sha256=digest, cache_dir=cache)
    assert (cache / "lar.csv").is_file() and len(out) == 7
    with pytest.raises(ChecksumError, match="lar.csv"):
        read_lar(src.as_uri(), sha256="f" * 64, cache_dir=tmp_path / "cache2")
    assert not any((tmp_path / "cache2").iterdir())


def test_https_download_uses_fetcher_not_network(tmp_path, monkeypatch):
    payload = FIXTURE.read_bytes()
    seen = []

    def fake_urlopen(url):
        seen.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(_files, "_urlopen", fake_urlopen)
    url = "https://ffiec.cfpb.gov/v2/data-browser-api/view/csv?states=NY&years=2020"
    out = read_lar(url, sha256=FIXTURE_SHA, cache_dir=tmp_path, chunksize=100)
    assert sum(len(c) for c in out) == 288
    assert seen == [url]
    assert (tmp_path / "csv").read_bytes() == payload
    read_lar(url, sha256=FIXTURE_SHA, cache_dir=tmp_path)  # cached: no second fetch
    assert seen == [url]


def test_local_file_checksum_checked(tmp_path):
    path = _write_2007(tmp_path / "a.csv")
    with pytest.raises(ChecksumError, match="a.csv"):
        read_lar(path, sha256="0" * 64)


# ----------------------------------------------------------------- bad input


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_lar(tmp_path / "nope.csv")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="Not a public HMDA LAR header"):
        read_lar(other)
    broken = tmp_path / "broken.csv"
    broken.write_text("as_of_year,applicant_race_1,applicant_sex\n2012,5,1\n")
    with pytest.raises(ValueError, match="lacks the column 'action_taken'"):
        read_lar(broken)
    with pytest.raises(ValueError, match="chunksize must be a positive integer"):
        read_lar(FIXTURE, chunksize=0)
    with pytest.raises(ValueError, match="columns must be 'common' or 'all'"):
        read_lar(FIXTURE, columns="some")
    bad_code = _write_2007(tmp_path / "code.csv", rows=[("3", "9", "2", "1", "1", "1", "")])
    with pytest.raises(ValueError, match=r"'applicant_race_1' has unknown codes \[9\]"):
        read_lar(bad_code)
    with pytest.raises(ValueError, match="where: column 'county'"):
        filter_lar(FIXTURE, {"county": "x"})
    with pytest.raises(ValueError, match=r"by: \['state'\]"):
        lar_group_counts(FIXTURE, by="state")


def test_header_only_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text(",".join(HEADER_2007) + "\n")
    out = read_lar(path)
    assert out.shape == (0, len(LAR_COMMON_COLUMNS))
