"""What a run writes besides checkpoints: metrics.csv, train.log, TensorBoard (optional).

metrics.csv is rewritten whole through a staged file at every epoch (it is small), so a
full disk or read-only folder leaves the rows of the epochs before intact and raises one
WriteError line.
"""

import csv
import io
import math
import time
import warnings
from pathlib import Path

from tqdm import tqdm

from hermnet.files import WriteError, describe_failure, write_text
from hermnet.train.loss import METRIC_NAMES, STEP_METRIC_NAMES

CSV_COLUMNS = (
    ["epoch", "lr"]
    + [f"train_{name}" for name in METRIC_NAMES]
    + [f"val_{name}" for name in METRIC_NAMES]
    + ["time", "elapsed"]
    + [f"train_{name}" for name in STEP_METRIC_NAMES]
)


def _tensorboard_writer(folder: Path):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard not installed (or broken): it is optional
        return None
    return SummaryWriter(log_dir=str(folder))


class RunLog:
    """Only the main process writes; the others get a RunLog with enabled=False."""

    def __init__(self, folder: Path, enabled: bool, tensorboard: bool, resume_epoch: int) -> None:
        self.folder = Path(folder)
        self.enabled = enabled
        self.csv_path = self.folder / "metrics.csv"
        self.text_path = self.folder / "train.log"
        self.writer = None
        if not enabled:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self._prepare_csv(resume_epoch)
        if tensorboard:
            self.writer = _tensorboard_writer(self.folder / "tensorboard")

    def _prepare_csv(self, resume_epoch: int) -> None:
        """Keep rows of epochs up to the checkpoint (a killed run may have written more)."""
        rows = []
        if resume_epoch > 0 and self.csv_path.exists():
            with self.csv_path.open(newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["epoch"]) <= resume_epoch]
        self.rows = [{key: row.get(key, "") for key in CSV_COLUMNS} for row in rows]
        self._write_csv()

    def _write_csv(self) -> None:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(self.csv_path, text.getvalue())

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        tqdm.write(text)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:  # an append-only log: a failed line loses nothing written before
            with self.text_path.open("a") as handle:
                handle.write(f"{stamp} {text}\n")
        except OSError as err:
            raise WriteError(describe_failure(self.text_path, err)) from err

    def epoch(
        self, epoch: int, lr: float, train: dict, val: dict, seconds: float, elapsed: float
    ) -> None:
        if not self.enabled:
            return
        row = {
            "epoch": epoch,
            "lr": f"{lr:.6e}",
            "time": f"{seconds:.3f}",
            "elapsed": f"{elapsed:.3f}",
        }
        names = {"train": METRIC_NAMES + STEP_METRIC_NAMES, "val": METRIC_NAMES}
        for prefix, values in (("train", train), ("val", val)):
            for name in names[prefix]:
                value = values.get(name, math.nan)
                row[f"{prefix}_{name}"] = "" if math.isnan(value) else f"{value:.8e}"
        self.rows.append(row)
        self._write_csv()
        if self.writer is not None:
            for prefix, values in (("train", train), ("val", val)):
                for name, value in values.items():
                    if not math.isnan(value):
                        self.writer.add_scalar(f"{prefix}/{name}", value, epoch)
            self.writer.add_scalar("lr", lr, epoch)
            self.writer.flush()

    def step(self, step: int, loss: float, lr: float) -> None:
        if self.writer is not None:
            self.writer.add_scalar("step/loss", loss, step)
            self.writer.add_scalar("step/lr", lr, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def read_metrics(csv_path: Path) -> dict[str, list[float]]:
    """metrics.csv as columns of floats (NaN for empty cells)."""
    columns: dict[str, list[float]] = {key: [] for key in CSV_COLUMNS}
    with Path(csv_path).open(newline="") as handle:
        for row in csv.DictReader(handle):
            for key in CSV_COLUMNS:
                text = row.get(key) or ""
                columns[key].append(float(text) if text else math.nan)
    return columns
