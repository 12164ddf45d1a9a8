"""Stage two: the last part of a run with other loss weights, as MACE's second stage.

A force-weighted first stage finds the forces' optimum early; the per-atom energies keep
improving long after it (mlearn Ge, painn2v, 60 min: the validation force MAE bottomed out
at epoch 59 of 395 while the validation energy MAE halved after it). Stage two raises the
energy weight for the rest of the run, where the cosine rate is already low, and best.pt is
chosen among stage-two epochs on the weighted validation loss: a force-chosen checkpoint
would stay in stage one. With training.stage_two_fresh_optimizer the optimizer's moments
start afresh with stage two.

Progress through a run is the larger of its share of epochs and its share of the time
budget (schedule_minutes, counted over resumes, else max_time_minutes of this process), so
stage two starts at the same point of the cosine whatever the machine's speed.
"""

from hermnet.train.loss import LossWeights

# What best.pt follows in stage two: the sum the stage-two weights minimise.
STAGE_TWO_METRIC = "loss"


def stage_two_weights(opts, first: LossWeights) -> LossWeights:
    """The loss weights of stage two: the training config's stage_two_* where given."""

    def pick(value: float | None, default: float) -> float:
        return default if value is None else float(value)

    return LossWeights(
        pick(opts.stage_two_energy_weight, first.energy),
        pick(opts.stage_two_force_weight, first.forces),
        pick(opts.stage_two_stress_weight, first.stress),
        huber_delta=first.huber_delta,
    )


def run_progress(
    epochs_done: int,
    epochs: int,
    trained_seconds: float,
    elapsed_seconds: float,
    schedule_minutes: float | None,
    max_time_minutes: float | None,
) -> float:
    """Share of the run done, in [0, 1]: whichever of its limits is nearer."""
    shares = [epochs_done / epochs]
    if schedule_minutes:
        shares.append(trained_seconds / (60.0 * schedule_minutes))
    elif max_time_minutes:
        shares.append(elapsed_seconds / (60.0 * max_time_minutes))
    return min(1.0, max(shares))


def stage_two_note(epoch: int, weights: LossWeights) -> str:
    return (
        f"stage two from epoch {epoch}: loss weights energy {weights.energy:g}, forces "
        f"{weights.forces:g}, stress {weights.stress:g}; best.pt now follows the validation "
        f"{STAGE_TWO_METRIC} of stage-two epochs"
    )
