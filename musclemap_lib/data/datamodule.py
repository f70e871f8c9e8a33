"""``MuscleMapDataModule``: the five splits of a data folder as Lightning data loaders.

``prepare_data`` only verifies the folder against its manifest (nothing is ever downloaded:
MuscleMap136 needs a signed agreement) and sets no state; ``setup`` builds the split datasets.
Validation and test loaders are lists in the fixed order (known, new), so dataloader index 0 is
always ``known_*`` and 1 is ``new_*`` (see :attr:`MuscleMapDataModule.val_splits`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader

from musclemap_lib.config import DataConfig
from musclemap_lib.data.dataset import ClipDataset, collate_clips
from musclemap_lib.data.manifest import SPLITS, TEST_SPLITS, VAL_SPLITS, Manifest, load_manifest
from musclemap_lib.data.video import Backend
from musclemap_lib.modalities import check_modality

log = logging.getLogger(__name__)

# Memory for the val splits' items (read every epoch; the cpu profile's two val splits take
# about 0.3 GiB as float32 RGB clips, so each epoch's validation reads no file after the first).
VAL_MEMO_BYTES = 2 * 2**30


class MuscleMapDataModule(L.LightningDataModule):
    """Loaders of one data folder for a set of modalities.

    Args:
        root: data folder with ``manifest.csv``.
        cfg: sampling, augmentation, normalisation and caching.
        modalities: the batch keys the model reads, e.g. ``("rgb",)``.
        batch_size: clips per training batch.
        eval_batch_size: clips per evaluation batch (default: ``batch_size``).
        num_workers: DataLoader worker processes.
        cache_dir: flow / decoded-clip cache (default ``<root>/.cache``).
        skip_bad: skip and count bad clips instead of raising (see ``batch["skipped"]``).
        drop_last: drop the last incomplete training batch.
        pin_memory: pin batches in page-locked memory (for GPU training).
        backend: video decoder (``"decord"`` or ``"pyav"``).
        val_memo_bytes: memory for the val splits' items, kept after their first read (their
            items are deterministic); split between the worker processes; 0 = read every time.
    """

    val_splits: tuple[str, ...] = VAL_SPLITS
    test_splits: tuple[str, ...] = TEST_SPLITS

    def __init__(
        self,
        root: str | Path,
        cfg: DataConfig,
        modalities: Sequence[str] = ("rgb",),
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        cache_dir: str | Path | None = None,
        skip_bad: bool = False,
        drop_last: bool = False,
        pin_memory: bool = False,
        backend: Backend = "decord",
        val_memo_bytes: int = VAL_MEMO_BYTES,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.root = Path(root).expanduser().resolve()
        self.cfg = cfg
        self.modalities = tuple(check_modality(m) for m in modalities)
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.skip_bad = skip_bad
        self.drop_last = drop_last
        self.pin_memory = pin_memory
        self.backend = backend
        self.val_memo_bytes = val_memo_bytes
        self.manifest: Manifest | None = None
        self.datasets: dict[str, ClipDataset] = {}

    def prepare_data(self) -> None:
        """Verify the files the modalities read, the activities and the protocol (no download,
        no state)."""
        load_manifest(self.root).verify(modalities=self.modalities)

    def setup(self, stage: str | None = None) -> None:
        """Load the manifest and build the five split datasets (train: augmented)."""
        if self.manifest is not None:
            return
        self.manifest = load_manifest(self.root)
        # The val splits are read every epoch: their (deterministic) items stay in memory, shared
        # out between the loader's worker processes.
        memo = self.val_memo_bytes // max(1, self.num_workers)
        for split in SPLITS:
            self.datasets[split] = self._dataset(
                split,
                train=split == "train",
                views=1,
                memo_bytes=memo if split in VAL_SPLITS else 0,
            )
        log.info(
            "data %s (fingerprint %s): %s",
            self.root,
            self.fingerprint,
            ", ".join(f"{s} {n}" for s, n in self.manifest.split_sizes().items()),
        )

    @property
    def fingerprint(self) -> str:
        """The data set's content fingerprint (:attr:`Manifest.fingerprint`)."""
        return (self.manifest or load_manifest(self.root)).fingerprint

    def _dataset(self, split: str, train: bool, views: int, memo_bytes: int = 0) -> ClipDataset:
        if self.manifest is None:
            self.setup()
        return ClipDataset(
            self.root,
            split,
            self.cfg,
            self.modalities,
            train=train,
            skip_bad=self.skip_bad,
            views=views,
            cache_dir=self.cache_dir,
            manifest=self.manifest,
            backend=self.backend,
            memo_bytes=memo_bytes,
        )

    def _loader(
        self, ds: ClipDataset, shuffle: bool, batch_size: int, drop_last: bool
    ) -> DataLoader:
        return DataLoader(
            ds,
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=collate_clips,
            pin_memory=self.pin_memory,
            drop_last=drop_last,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled, augmented ``train`` split."""
        self.setup()
        return self._loader(self.datasets["train"], True, self.batch_size, self.drop_last)

    def val_dataloader(self) -> list[DataLoader]:
        """``[known_val, new_val]``, deterministic, one view per clip.

        DEVIATION: the released code samples its val splits randomly (train-style crops and
        flips), which makes its val mAP stochastic; ours is deterministic.
        """
        self.setup()
        return [
            self._loader(self.datasets[s], False, self.eval_batch_size, False) for s in VAL_SPLITS
        ]

    def test_dataloader(self) -> list[DataLoader]:
        """``[known_test, new_test]``, one view per clip (the released test protocol).

        For k-view evaluation use :meth:`split_dataloader` with ``views=k``.
        """
        self.setup()
        return [
            self._loader(self.datasets[s], False, self.eval_batch_size, False) for s in TEST_SPLITS
        ]

    def split_dataloader(
        self, split: str, views: int | None = None, batch_size: int | None = None
    ) -> DataLoader:
        """Deterministic loader of any split with ``views`` evenly spaced clips per video.

        Items of one video follow each other (``view`` 0..k-1, same ``clip_id``); average the
        scores per ``clip_id`` to get the multi-view prediction.

        Args:
            split: one of the five splits.
            views: temporal views per clip (default ``cfg.test_views``).
            batch_size: default ``eval_batch_size``.
        """
        self.setup()
        views = self.cfg.test_views if views is None else views
        ds = self._dataset(split, train=False, views=views)
        return self._loader(ds, False, batch_size or self.eval_batch_size, False)


def count_skipped(batch: dict) -> int:
    """Number of clips dropped from ``batch`` because they were bad (``skip_bad=True``)."""
    return len(batch.get("skipped", ()))
