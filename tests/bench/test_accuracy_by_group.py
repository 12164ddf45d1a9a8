"""bench/accuracy/by_group.py: the labels that set high-energy cells of a group apart."""

from types import SimpleNamespace

from bench.accuracy.by_group import group_labels


def structure(group: str, energy: float, atoms: int = 2):
    return SimpleNamespace(config_type=group, energy=energy, numbers=[14] * atoms)


def test_labels_are_the_groups_without_a_threshold():
    data = [structure("Vacancy", -10.6), structure("Surface", -10.2)]
    assert group_labels(data, None) == ["Vacancy", "Surface"]


def test_high_energy_cells_are_those_above_the_lowest_energy_per_atom_by_more_than_the_threshold():
    data = [
        structure("AIMD-NVT", -10.8),  # -5.4 eV/atom: the floor
        structure("AIMD-NVT", -9.4),  # -4.7: 0.7 above
        structure("Vacancy", -16.0, atoms=3),  # -5.33: 0.07 above
        structure("Vacancy", -14.1, atoms=3),  # -4.7
    ]
    labels = group_labels(data, 0.3)
    assert labels == ["AIMD-NVT", "AIMD-NVT (high E)", "Vacancy", "Vacancy (high E)"]
