"""The headline table of docs/results.md: the best line of each benchmark, its training
time over all stages, the target verdict, and the relation block in the model column."""

import json

from bench.accuracy.headline import (
    BEGIN,
    END,
    best_line,
    headline_rows,
    load,
    over,
    write_headline,
)


def record(name, benchmark, key, forces, energy=3.0, minutes=30.0, block=None, **extra):
    test = {
        "rmd17": [f"../shared/data/rmd17/rmd17_{key}_test_01.npz"],
        "mlearn": [f"../shared/data/mlearn/{key}/test.json"],
    }[benchmark]
    model = {"variant": "vertex", "features": 64, "layers": 3, "dtype": "float32"}
    if block:
        model["block"] = block
    return {
        "name": name,
        "benchmark": benchmark,
        "command": f"python bench/accuracy/run.py {benchmark}",
        "hardware": {"cpu_count": 2},
        "training_minutes": minutes,
        "init_from": None,
        "epochs": 10,
        "config": {"model": model, "data": {"test": test}, "training": {"num_threads": 1}},
        "test": {
            "forces_mae_meV_A": forces,
            "energy_per_atom_mae_meV": energy,
            "energy_mae_meV_per_molecule": energy * 9,
        },
        **extra,
    }


def write(folder, *records):
    folder.mkdir(exist_ok=True)
    for r in records:
        (folder / f"{r['name']}.json").write_text(json.dumps(r))


def test_best_line_is_the_lowest_test_force_mae_of_the_benchmark(tmp_path):
    write(
        tmp_path,
        record("rmd17_ethanol", "rmd17", "ethanol", forces=9.0, energy=0.1),
        record("rmd17_ethanol_painn", "rmd17", "ethanol", forces=6.0, block="painn"),
        record("rmd17_aspirin", "rmd17", "aspirin", forces=3.0),  # another benchmark
    )
    records = load(tmp_path)
    assert best_line(records, "rmd17", "ethanol")["name"] == "rmd17_ethanol_painn"
    assert best_line(records, "rmd17", "ethanol", block="hermconv")["name"] == "rmd17_ethanol"
    assert best_line(records, "rmd17", "benzene") is None
    row = next(line for line in headline_rows(records) if line.startswith("| rMD17 ethanol |"))
    assert "vertex painn F=64 L=3" in row and "rmd17_ethanol_painn.json" in row
    assert "**6.0**" in row and "no, 1.4x" in row  # target 4.2 meV/Å
    aspirin = next(line for line in headline_rows(records) if line.startswith("| rMD17 aspirin"))
    assert "vertex hermconv F=64 L=3" in aspirin and "**yes**" in aspirin  # 3.0 <= 12.3


def test_stages_add_up_and_mlearn_needs_mtp_within_60_minutes(tmp_path):
    write(
        tmp_path,
        record("mlearn_Si", "mlearn", "Si", forces=70.0, energy=2.0, minutes=40.0),
        record(
            "mlearn_Si_phase2",
            "mlearn",
            "Si",
            forces=55.0,
            energy=2.1,
            minutes=30.0,
            init_from="mlearn_Si",
        ),
        record("mlearn_Ge", "mlearn", "Ge", forces=49.0, energy=1.7, minutes=20.0),
    )
    rows = headline_rows(load(tmp_path))
    si = next(line for line in rows if line.startswith("| mlearn Si |"))
    assert "mlearn_Si_phase2.json" in si and "70 min (40 + 30)" in si
    assert "no, over 60 min" in si  # energy and forces below MTP's, but 70 minutes
    ge = next(line for line in rows if line.startswith("| mlearn Ge |"))
    assert ge.endswith("| **yes** |") and "MTP 1.79 / 50" in ge


def test_a_line_that_meets_the_whole_target_heads_over_lower_forces_that_miss_it(tmp_path):
    write(
        tmp_path,
        record("mlearn_Ge_forces", "mlearn", "Ge", forces=42.5, energy=3.0, minutes=60.0),
        record("mlearn_Ge_both", "mlearn", "Ge", forces=46.0, energy=1.7, minutes=60.0),
        record("mlearn_Ge_long", "mlearn", "Ge", forces=40.0, energy=1.5, minutes=90.0),
        record("rmd17_toluene_a", "rmd17", "toluene", forces=5.0),
        record("rmd17_toluene_b", "rmd17", "toluene", forces=4.0),
    )
    rows = headline_rows(load(tmp_path))
    ge = next(line for line in rows if line.startswith("| mlearn Ge |"))
    assert "mlearn_Ge_both.json" in ge and ge.endswith("| **yes** |")
    # no line meets the target: the lowest forces, as before
    toluene = next(line for line in rows if line.startswith("| rMD17 toluene |"))
    assert "rmd17_toluene_b.json" in toluene and "no, 1.7x" in toluene


def test_write_headline_keeps_the_text_around_the_markers(tmp_path):
    results = tmp_path / "results"
    write(results, record("rmd17_uracil", "rmd17", "uracil", forces=5.0))
    doc = tmp_path / "results.md"
    doc.write_text(f"intro\n{BEGIN}\nold table\n{END}\noutro\n")
    write_headline(results, doc)
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old table" not in text
    assert "| rMD17 uracil | vertex hermconv F=64 L=3 | 27.0 meV/mol | **5.0** |" in text
    assert "| mlearn Ge | (no result file) |" in text


def test_a_near_miss_reads_as_a_miss():
    # 62.7 against 60 rounds to "1.0x" with one decimal, which reads as met.
    assert over(62.7, 60) == "+5 %"
    assert over(84.5, 60) == "1.4x"
